"""A content-addressed file store: files are named by their sha256 and written atomically."""

import hashlib
import os
import tempfile
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from backend.linux import has_syncfs, syncfs

CHUNK_SIZE = 1 << 20
# Without syncfs: fsync waits on the disk, not the CPU, and several at once let the
# filesystem commit them together.
FSYNC_THREADS = 16
_SHA256_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class StoredFile:
    """What the store knows of a file: its digest (the key) and its size."""

    sha256: str
    size: int


class FileNotInStoreError(LookupError):
    """No file with this digest is in the store."""


class FileStore:
    """Files under root/ab/cd/<sha256>; the same content is stored once."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def put_bytes(self, data: bytes) -> StoredFile:
        """Store bytes and return their key."""
        return self.put_many([data])[0]

    def put_many(self, contents: Sequence[bytes]) -> list[StoredFile]:
        """Store many files, all durable on return, with two flushes for the whole batch."""
        stored = [StoredFile(hashlib.sha256(data).hexdigest(), len(data)) for data in contents]
        missing = {
            item.sha256: data
            for item, data in zip(stored, contents, strict=True)
            if not self.exists(item.sha256)
        }
        with ExitStack() as stack:
            staged: list[tuple[BinaryIO, Path, Path]] = []
            for sha256, data in missing.items():
                handle, temporary_path = stack.enter_context(self._atomic_writer())
                handle.write(data)
                staged.append((handle, temporary_path, self.path_for(sha256)))
            self._publish(staged)
        return stored

    def put_stream(self, source: BinaryIO) -> StoredFile:
        """Store a stream, hashing while copying so large files never sit in memory."""
        digest = hashlib.sha256()
        size = 0
        with self._atomic_writer() as (handle, temporary_path):
            while chunk := source.read(CHUNK_SIZE):
                digest.update(chunk)
                handle.write(chunk)
                size += len(chunk)
            stored = StoredFile(sha256=digest.hexdigest(), size=size)
            if not self.exists(stored.sha256):
                self._publish([(handle, temporary_path, self.path_for(stored.sha256))])
        return stored

    def path_for(self, sha256: str) -> Path:
        """Where the file with this digest lives (whether or not it is there)."""
        if len(sha256) != 64 or not _SHA256_HEX.issuperset(sha256):
            raise ValueError(f"not a sha256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        """True when the store holds this digest."""
        return self.path_for(sha256).is_file()

    def delete(self, sha256: str) -> bool:
        """Remove a stored file for good; False when it was not there."""
        try:
            self.path_for(sha256).unlink()
        except FileNotFoundError:
            return False
        return True

    def read_bytes(self, sha256: str) -> bytes:
        """The content of a stored file."""
        try:
            return self.path_for(sha256).read_bytes()
        except FileNotFoundError as error:
            raise FileNotInStoreError(sha256) from error

    def open(self, sha256: str) -> BinaryIO:
        """A binary stream over a stored file, for downloads."""
        try:
            return self.path_for(sha256).open("rb")
        except FileNotFoundError as error:
            raise FileNotInStoreError(sha256) from error

    @contextmanager
    def _atomic_writer(self) -> Iterator[tuple[BinaryIO, Path]]:
        """A temporary file in the store, removed unless it was published."""
        staging = self.root / "tmp"
        staging.mkdir(parents=True, exist_ok=True)
        descriptor, name = tempfile.mkstemp(dir=staging, prefix="incoming-")
        temporary_path = Path(name)
        os.fchmod(descriptor, 0o644)  # mkstemp makes it private; stored files are readable
        try:
            with os.fdopen(descriptor, "wb") as handle:
                yield handle, temporary_path
        finally:
            temporary_path.unlink(missing_ok=True)

    def _publish(self, staged: Sequence[tuple[BinaryIO, Path, Path]]) -> None:
        """Make written files durable, move each to its final name, make the names durable.

        The files are flushed before the renames so that no name ever points at missing data.
        """
        for handle, _, _ in staged:
            handle.flush()
        self._make_durable([handle.fileno() for handle, _, _ in staged])
        for _, temporary_path, final_path in staged:
            final_path.parent.mkdir(parents=True, exist_ok=True)
            os.replace(temporary_path, final_path)
        self._make_durable(sorted({str(final_path.parent) for _, _, final_path in staged}))

    def _make_durable(self, targets: Sequence[int | str]) -> None:
        """Flush written files (descriptors) or renames (their directories) to the disk."""
        if not targets:
            return
        # One file: its own fsync is cheaper than flushing the whole filesystem.
        if len(targets) > 1 and has_syncfs():
            syncfs(self.root)
        else:
            _fsync_all(targets)


def _fsync_directory(directory: Path | str) -> None:
    """Persist a rename: without it a crash may forget the new directory entry."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _fsync_all(targets: Sequence[int | str]) -> None:
    """fsync open files (descriptors) or directories (paths), in parallel when there are many."""

    def fsync(target: int | str) -> None:
        if isinstance(target, int):
            os.fsync(target)
        else:
            _fsync_directory(target)

    if len(targets) <= 1:
        for target in targets:
            fsync(target)
        return
    with ThreadPoolExecutor(min(FSYNC_THREADS, len(targets))) as pool:
        list(pool.map(fsync, targets))


def write_durably(path: Path, *, data: bytes) -> None:
    """Write a named file whole or not at all, on disk when this returns."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(name, 0o644)
        os.replace(name, path)
    finally:
        Path(name).unlink(missing_ok=True)
    _fsync_directory(path.parent)

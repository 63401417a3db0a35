"""A content-addressed file store: files are named by their sha256 and written atomically."""

import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

CHUNK_SIZE = 1 << 20
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
        with self._atomic_writer() as (handle, temporary_path):
            handle.write(data)
            stored = StoredFile(sha256=hashlib.sha256(data).hexdigest(), size=len(data))
            self._publish(handle=handle, temporary_path=temporary_path, stored=stored)
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
            self._publish(handle=handle, temporary_path=temporary_path, stored=stored)
        return stored

    def path_for(self, sha256: str) -> Path:
        """Where the file with this digest lives (whether or not it is there)."""
        if len(sha256) != 64 or not _SHA256_HEX.issuperset(sha256):
            raise ValueError(f"not a sha256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        """True when the store holds this digest."""
        return self.path_for(sha256).is_file()

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
        try:
            with os.fdopen(descriptor, "wb") as handle:
                yield handle, temporary_path
        finally:
            temporary_path.unlink(missing_ok=True)

    def _publish(self, *, handle: BinaryIO, temporary_path: Path, stored: StoredFile) -> None:
        """Make the written file durable, then move it to its final name in one step."""
        final_path = self.path_for(stored.sha256)
        if final_path.is_file():
            return  # same content already stored: content addressing makes this a no-op
        handle.flush()
        os.fsync(handle.fileno())
        final_path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(temporary_path, 0o644)
        os.replace(temporary_path, final_path)
        _fsync_directory(final_path.parent)


def _fsync_directory(directory: Path) -> None:
    """Persist a rename: without it a crash may forget the new directory entry."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)

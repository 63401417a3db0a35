"""The file store keeps every byte, once, under its sha256, and never shows half a file."""

import hashlib
import io
from pathlib import Path

import pytest

from backend.storage.filestore import FileNotInStoreError, FileStore


def test_stored_bytes_read_back_identical_under_their_digest(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "files")
    content = "Objet : titre de séjour\r\n".encode() * 1000

    stored = store.put_bytes(content)

    assert stored.sha256 == hashlib.sha256(content).hexdigest()
    assert stored.size == len(content)
    assert store.read_bytes(stored.sha256) == content
    assert store.path_for(stored.sha256).parent.parent.name == stored.sha256[:2]


def test_stream_larger_than_a_chunk_is_stored_whole(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    content = bytes(range(256)) * 20_000  # about 5 MB, several chunks

    stored = store.put_stream(io.BytesIO(content))

    with store.open(stored.sha256) as handle:
        assert handle.read() == content
    assert stored.size == len(content)


def test_same_content_is_stored_once_and_no_temporary_file_remains(tmp_path: Path) -> None:
    store = FileStore(tmp_path)

    first = store.put_bytes(b"%PDF-1.7 lettre")
    second = store.put_stream(io.BytesIO(b"%PDF-1.7 lettre"))

    assert first == second
    stored_files = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert stored_files == [store.path_for(first.sha256)]


def test_missing_file_and_malformed_digest_are_clear_errors(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    absent = hashlib.sha256(b"absent").hexdigest()

    assert not store.exists(absent)
    with pytest.raises(FileNotInStoreError):
        store.read_bytes(absent)
    with pytest.raises(ValueError, match="sha256"):
        store.path_for("../../etc/passwd")


def test_many_files_stored_at_once_read_back_each_stored_once(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    contents = [f"Courriel n° {number}\r\n".encode() * 100 for number in range(50)]
    already_there = store.put_bytes(contents[7])

    stored = store.put_many([*contents, contents[3]])

    assert stored[7] == already_there
    assert stored[-1] == stored[3]
    assert [store.read_bytes(item.sha256) for item in stored[:-1]] == contents
    stored_files = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert len(stored_files) == 50
    assert all(path.stat().st_mode & 0o777 == 0o644 for path in stored_files)

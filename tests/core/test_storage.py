import io

import pytest

from heldout.storage import LocalStorage, TooLarge


def test_a_stream_is_stored_with_its_size_and_hash(tmp_path):
    storage = LocalStorage(tmp_path)
    size, sha = storage.save_stream("a/b.csv", io.BytesIO(b"id,y\n1,2\n"))
    assert size == 9 and len(sha) == 64
    assert storage.open("a/b.csv").read() == b"id,y\n1,2\n"


def test_an_oversize_stream_stops_early_and_leaves_nothing(tmp_path):
    storage = LocalStorage(tmp_path)
    with pytest.raises(TooLarge):
        storage.save_stream("big.csv", io.BytesIO(b"x" * 5000), max_bytes=1000)
    assert not storage.exists("big.csv")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs", "a/../../b", "a b", ""])
def test_keys_cannot_escape_the_root(tmp_path, key):
    with pytest.raises(ValueError):
        LocalStorage(tmp_path).local_path(key)

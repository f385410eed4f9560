"""Content-defined chunking: deterministic, bounded, lossless, and it resyncs after edits."""

from __future__ import annotations

import hashlib
import io
import random
from pathlib import Path

import numpy as np
import pytest

from crewchief.backup import chunker
from crewchief.backup.chunker import GEAR, chunk_file, chunk_stream, gear_hashes
from crewchief.errors import InvalidInput

MIN, AVG, MAX = 16 * 1024, 64 * 1024, 256 * 1024
GEAR_DIGEST = "50f35344b4048f01"  # sha256 of the little-endian gear table, first 16 hex digits


def random_bytes(size: int, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(size)


def chunks(data: bytes, **sizes: int) -> list[bytes]:
    return list(chunk_stream(io.BytesIO(data), **sizes))


def digests(parts: list[bytes]) -> list[str]:
    return [hashlib.sha256(part).hexdigest() for part in parts]


def test_vectorized_hash_equals_the_byte_by_byte_gear_hash() -> None:
    data = random_bytes(300_000)  # crosses two hashing blocks
    expected = np.empty(len(data), dtype=np.uint32)
    h = 0
    for i, byte in enumerate(data):
        h = ((h << 1) + int(GEAR[byte])) & 0xFFFFFFFF
        expected[i] = h
    got = gear_hashes(data)
    assert np.array_equal(got[chunker.WINDOW - 1 :], expected[chunker.WINDOW - 1 :])


def test_gear_table_is_fixed() -> None:
    """The table is part of the repository format: changing it breaks dedup with old backups."""
    assert hashlib.sha256(GEAR.astype("<u4").tobytes()).hexdigest()[:16] == GEAR_DIGEST


def test_same_input_same_chunks_whatever_the_read_size(monkeypatch: pytest.MonkeyPatch) -> None:
    data = random_bytes(1_500_000)
    reference = chunks(data)
    assert chunks(data) == reference
    for read_size in (1000, 65_537, 1 << 20):
        monkeypatch.setattr(chunker, "READ_SIZE", read_size)
        assert chunks(data) == reference


def test_chunks_concatenate_to_the_input_and_respect_the_bounds() -> None:
    data = random_bytes(20_000_000)
    parts = chunks(data)
    assert b"".join(parts) == data
    assert all(MIN <= len(part) <= MAX for part in parts[:-1])
    assert 0 < len(parts[-1]) <= MAX
    average = len(data) / len(parts)
    assert AVG * 0.75 < average < AVG * 1.5


def test_insertion_only_changes_nearby_chunks() -> None:
    data = random_bytes(20_000_000)
    middle = len(data) // 2
    edited = data[:middle] + random_bytes(100, seed=8) + data[middle:]
    before, after = digests(chunks(data)), digests(chunks(edited))
    shared = set(before) & set(after)
    assert sum(d in shared for d in after) >= 0.9 * len(after)
    assert len(after) - sum(d in shared for d in after) <= 3  # the edited chunk and a neighbour


def test_all_zero_input_dedups_to_one_object() -> None:
    parts = chunks(bytes(5_000_000))
    assert len(set(digests(parts[:-1]))) == 1
    assert b"".join(parts) == bytes(5_000_000)


def test_small_and_empty_inputs() -> None:
    assert chunks(b"") == []
    assert chunks(b"tiny") == [b"tiny"]
    data = random_bytes(MIN - 1)
    assert chunks(data) == [data]


def test_custom_sizes_and_bad_sizes() -> None:
    data = random_bytes(1_000_000)
    parts = chunks(data, min_size=1024, avg_size=4096, max_size=8192)
    assert b"".join(parts) == data
    assert all(1024 <= len(part) <= 8192 for part in parts[:-1])
    with pytest.raises(InvalidInput):
        chunks(data, min_size=16, avg_size=4096, max_size=8192)
    with pytest.raises(InvalidInput):
        chunks(data, min_size=4096, avg_size=1024, max_size=8192)


def test_chunk_file_matches_chunk_stream(tmp_path: Path) -> None:
    data = random_bytes(1_000_000)
    (tmp_path / "f").write_bytes(data)
    assert list(chunk_file(tmp_path / "f")) == chunks(data)

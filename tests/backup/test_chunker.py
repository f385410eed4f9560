"""Content-defined chunking: deterministic, bounded, lossless, and it resyncs after edits."""

from __future__ import annotations

import hashlib
import io
import random
from pathlib import Path

import pytest

from crewchief.backup.chunker import NATIVE, SMALL, Sizes, chunk_buffer, chunk_file, chunk_stream
from crewchief.errors import InvalidInput

MIN, MAX = NATIVE.min_size, NATIVE.max_size
# The cut offsets of random_bytes(3_000_000) with NATIVE and SMALL sizes (SHA-256 of the
# lengths, first 16 hex digits).  The cuts decide what dedups against older backups: a
# change of the chunker (or of the pyfastcdc release) that moves them must be deliberate.
CUTS_DIGEST = {"native": "a581b1a1aa436a96", "small": "8372c205a819c156"}


def random_bytes(size: int, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(size)


def chunks(data: bytes, sizes: Sizes = NATIVE) -> list[bytes]:
    return [bytes(v) for v in chunk_buffer(data, sizes)]


def digests(parts: list[bytes]) -> list[str]:
    return [hashlib.sha256(part).hexdigest() for part in parts]


def cuts_digest(parts: list[bytes]) -> str:
    return hashlib.sha256(repr([len(p) for p in parts]).encode()).hexdigest()[:16]


def test_the_cuts_are_fixed() -> None:
    data = random_bytes(3_000_000)
    got = {"native": cuts_digest(chunks(data)), "small": cuts_digest(chunks(data, SMALL))}
    assert got == CUTS_DIGEST


def test_file_stream_and_buffer_cut_alike(tmp_path: Path) -> None:
    data = random_bytes(1_500_000)
    (tmp_path / "f").write_bytes(data)
    reference = chunks(data)
    assert list(chunk_file(tmp_path / "f")) == reference
    assert list(chunk_stream(io.BytesIO(data))) == reference
    assert list(chunk_file(tmp_path / "f", SMALL)) == chunks(data, SMALL)


@pytest.mark.parametrize("sizes", [NATIVE, SMALL])
def test_chunks_concatenate_to_the_input_and_respect_the_bounds(sizes: Sizes) -> None:
    data = random_bytes(20_000_000)
    parts = chunks(data, sizes)
    assert b"".join(parts) == data
    assert all(sizes.min_size <= len(part) <= sizes.max_size for part in parts[:-1])
    assert 0 < len(parts[-1]) <= sizes.max_size
    typical = sizes.avg_size + sizes.min_size  # FastCDC skips min_size before looking
    assert typical * 0.75 < len(data) / len(parts) < typical * 1.5


@pytest.mark.parametrize("sizes", [NATIVE, SMALL])
def test_an_edit_only_changes_nearby_chunks(sizes: Sizes) -> None:
    data = random_bytes(20_000_000)
    middle = len(data) // 2
    inserted = data[:middle] + random_bytes(100, seed=8) + data[middle:]
    overwritten = data[:middle] + random_bytes(1536, seed=9) + data[middle + 1536 :]
    before = set(digests(chunks(data, sizes)))
    for edited in (inserted, overwritten):
        after = digests(chunks(edited, sizes))
        assert len([d for d in after if d not in before]) <= 3  # the edited chunk, a neighbour


def test_all_zero_input_dedups_to_one_object() -> None:
    parts = chunks(bytes(5_000_000))
    assert len(set(digests(parts[:-1]))) == 1
    assert b"".join(parts) == bytes(5_000_000)


def test_small_and_empty_inputs(tmp_path: Path) -> None:
    assert chunks(b"") == []
    assert chunks(b"tiny") == [b"tiny"]
    data = random_bytes(MIN - 1)
    assert chunks(data) == [data]
    (tmp_path / "empty").write_bytes(b"")
    assert list(chunk_file(tmp_path / "empty")) == []


def test_bad_sizes_are_refused() -> None:
    for bad in (Sizes(16, 4096, 8192), Sizes(4096, 1024, 8192), Sizes(1024, 4096, 2048)):
        with pytest.raises(InvalidInput):
            chunks(b"x" * 10_000, bad)

"""Content-defined chunking: split a byte stream where its *content* says so.

Why: a backup repository stores chunks by their SHA-256.  Cutting at fixed
offsets would make every chunk after an inserted byte different; cutting where
a rolling hash of the last few bytes hits a rare value makes the boundaries move
with the content, so after an insertion the chunker falls back into step within
a chunk or two and everything else deduplicates.

The rule is FastCDC's ("gear" hash with normalized chunking):

- ``h[i] = sum(GEAR[b[i - j]] << j for j in 0..31) mod 2**32``, the gear hash
  ``h = (h << 1) + GEAR[byte]`` in 32 bits, which forgets a byte after 32 steps,
  so the hash is a pure function of a 32-byte window;
- a cut after byte ``i`` is allowed when ``h[i]`` is below a threshold (the top
  bits are zero): a strict threshold while the chunk is shorter than
  ``avg_size``, a looser one after, and a forced cut at ``max_size``.  No cut
  comes before ``min_size``.

Python would do ~1 MB/s byte by byte, so the hash of an 8 MiB buffer is
computed with numpy, in cache-sized blocks, by doubling
(``H_2m[i] = H_m[i] + (H_m[i-m] << m)``: five passes for a 32-byte window);
candidates are found with one comparison and only those few are walked in
Python (~180 MB/s of CPU time).  A buffer always starts at a
chunk start and candidates lie at least ``min_size`` >= 32 bytes after it, so
every hash that matters sees a full window: the chunks do not depend on how
the input was read.  The gear table is derived from SHA-256, not a random
generator, so chunks are identical on every machine and numpy version.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

from crewchief.errors import InvalidInput

WINDOW = 32  # bytes the 32-bit gear hash depends on
READ_SIZE = 8 * 1024 * 1024
BLOCK = 128 * 1024  # bytes hashed per numpy pass: fits in the L2 cache
NORMALIZATION = 2  # FastCDC level: strict mask has 2 more bits, loose 2 fewer

U32 = npt.NDArray[np.uint32]
Offsets = npt.NDArray[np.intp]


def _gear_table() -> U32:
    """256 pseudo-random 32-bit values, the same everywhere (SHA-256 of the byte)."""
    values = [
        int.from_bytes(hashlib.sha256(b"crewchief-gear" + bytes([i])).digest()[:4], "little")
        for i in range(256)
    ]
    return np.array(values, dtype=np.uint32)


GEAR = _gear_table()


def gear_hashes(data: bytes | memoryview) -> U32:
    """The gear hash after each byte of `data` (the first 31 see a partial window)."""
    hashes = np.empty(len(data), dtype=np.uint32)
    for start, block in _hash_blocks(data):
        hashes[start : start + len(block)] = block
    return hashes


def _hash_blocks(data: bytes | memoryview) -> Iterator[tuple[int, U32]]:
    """Yield (offset, hashes) for consecutive blocks of `data`.

    Blocks of BLOCK bytes keep the five passes in the CPU cache (3x faster
    than whole-buffer passes); each block is hashed with the WINDOW - 1 bytes
    before it so its hashes equal those of one pass over everything.
    """
    raw = np.frombuffer(data, dtype=np.uint8)
    hashes = np.empty(BLOCK + WINDOW, dtype=np.uint32)
    scratch = np.empty_like(hashes)
    for start in range(0, len(raw), BLOCK):
        lead = min(start, WINDOW - 1)
        segment = raw[start - lead : start + BLOCK]
        h, tmp = hashes[: len(segment)], scratch[: len(segment)]
        np.take(GEAR, segment, out=h, mode="clip")
        span = 1
        while span < WINDOW:
            np.left_shift(h[:-span], span, out=tmp[span:])
            np.add(h[span:], tmp[span:], out=h[span:])
            span *= 2
        yield start, h[lead:]


def boundary_candidates(
    data: bytes, loose: np.uint32, strict: np.uint32
) -> tuple[Offsets, Offsets]:
    """Offsets just after each byte whose hash is below `loose`, and the subset below `strict`."""
    ends: list[Offsets] = []
    values: list[U32] = []
    for start, h in _hash_blocks(data):
        found = np.flatnonzero(h < loose)
        ends.append(found + (start + 1))
        values.append(h[found])
    if not ends:
        empty = np.empty(0, dtype=np.intp)
        return empty, empty
    loose_ends, hashes = np.concatenate(ends), np.concatenate(values)
    return loose_ends, loose_ends[hashes < strict]


class _Cutter:
    """Finds cut points in one buffer given the hash candidates of that buffer."""

    def __init__(self, min_size: int, avg_size: int, max_size: int) -> None:
        if not WINDOW <= min_size <= avg_size <= max_size:
            raise InvalidInput(
                f"Invalid chunk sizes min={min_size} avg={avg_size} max={max_size}",
                hint=f"Use {WINDOW} <= min_size <= avg_size <= max_size",
            )
        bits = max(avg_size.bit_length() - 1, NORMALIZATION + 1)
        self.min_size, self.avg_size, self.max_size = min_size, avg_size, max_size
        # A hash below 2**(32 - n) has its top n bits zero: probability 2**-n.
        self.strict = np.uint32(1 << (32 - bits - NORMALIZATION))
        self.loose = np.uint32(1 << (32 - bits + NORMALIZATION))

    def cuts(self, data: bytes, final: bool) -> tuple[list[int], int]:
        """Cut offsets (chunk ends) in `data`, and where the undecided tail starts.

        With `final` the input ends here and the tail becomes the last chunk.
        """
        # A cut after byte i ends a chunk at offset i + 1.
        loose_ends, strict_ends = boundary_candidates(data, self.loose, self.strict)
        cuts: list[int] = []
        start, end = 0, len(data)
        while True:
            cut = self._next_cut(start, end, strict_ends, loose_ends)
            if cut is None:
                break
            cuts.append(cut)
            start = cut
        if final and start < end:
            cuts.append(end)
            start = end
        return cuts, start

    def _next_cut(self, start: int, end: int, strict: Offsets, loose: Offsets) -> int | None:
        """The end of the chunk starting at `start`, or None if `data` is too short to tell."""
        low, mid, high = start + self.min_size, start + self.avg_size, start + self.max_size
        i = int(np.searchsorted(strict, low))
        if i < len(strict) and strict[i] < mid:
            return int(strict[i])
        if end < mid:
            return None
        i = int(np.searchsorted(loose, mid))
        if i < len(loose) and loose[i] < high:
            return int(loose[i])
        return high if end >= high else None


def chunk_stream(
    f: BinaryIO,
    min_size: int = 16 * 1024,
    avg_size: int = 64 * 1024,
    max_size: int = 256 * 1024,
) -> Iterator[bytes]:
    """Yield the content-defined chunks of `f` until EOF; they concatenate to its bytes.

    Every chunk is between `min_size` and `max_size` bytes, except the last,
    which may be shorter.  Empty input yields no chunk.
    """
    cutter = _Cutter(min_size, avg_size, max_size)
    pending = b""  # bytes since the last cut: a buffer always starts at a chunk start
    while True:
        block = f.read(READ_SIZE)
        final = not block
        data = pending + block if pending else block
        if not data:
            return
        cuts, tail = cutter.cuts(data, final)
        start = 0
        for cut in cuts:
            yield data[start:cut]
            start = cut
        pending = data[tail:]
        if final:
            return


def chunk_file(path: Path | str) -> Iterator[bytes]:
    """Yield the content-defined chunks of the file at `path` (default sizes)."""
    with open(path, "rb") as f:
        yield from chunk_stream(f)

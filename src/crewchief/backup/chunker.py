"""Content-defined chunking: split a file where its *content* says so (FastCDC).

Why: a backup repository stores chunks by their hash.  Cutting at fixed offsets
would make every chunk after an inserted byte different; cutting where a rolling
hash of the last bytes hits a rare value makes the boundaries move with the
content, so after an edit the chunker falls back into step within a chunk or two
and everything else deduplicates.

The cutting is FastCDC 2020 (gear hash, normalized chunking), compiled, from the
`pyfastcdc` package with its default (the paper's reference) gear table: ~2.7 GB/s
on one core, against ~0.3 GB/s for the numpy chunker of repository format 1.  The
boundaries are part of what makes backups deduplicate, so the parameters below are
fixed and tests/backup/test_chunker.py pins the cuts of a known input: a release of
the package that cut differently would only cost dedup against older backups, never
correctness (every chunk is stored by its own hash).

Two sizes: `NATIVE` (16-256 KiB, 64 KiB typical) for snapshot files, and `SMALL`
(1-16 KiB) for the portable export, whose vectors change a point at a time: a chunk
of a few KiB around each changed point is all a second backup stores of it.
"""

from __future__ import annotations

import contextlib
import mmap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from pyfastcdc import FastCDC

from crewchief.errors import InvalidInput


@dataclass(frozen=True)
class Sizes:
    """Chunk bounds in bytes; FastCDC's typical chunk is about `avg_size` + `min_size`."""

    min_size: int
    avg_size: int
    max_size: int

    def cutter(self) -> FastCDC:
        if not 64 <= self.min_size <= self.avg_size <= self.max_size:
            raise InvalidInput(
                f"Invalid chunk sizes min={self.min_size} avg={self.avg_size} max={self.max_size}",
                hint="Use 64 <= min_size <= avg_size <= max_size",
            )
        return FastCDC(
            self.avg_size,
            min_size=self.min_size,
            max_size=self.max_size,
            normalized_chunking=1,
            seed=0,
        )


NATIVE = Sizes(16 * 1024, 64 * 1024, 256 * 1024)
SMALL = Sizes(1024, 4 * 1024, 16 * 1024)


def chunk_buffer(
    data: bytes | memoryview | mmap.mmap, sizes: Sizes = NATIVE
) -> Iterator[memoryview]:
    """The content-defined chunks of `data`, as views into it (they concatenate to it)."""
    view = memoryview(data)
    for chunk in sizes.cutter().cut_buf(view):
        yield view[chunk.offset : chunk.offset + chunk.length]


def chunk_stream(f: BinaryIO, sizes: Sizes = NATIVE) -> Iterator[bytes]:
    """The chunks of everything `f` reads until EOF, as bytes (each valid after the next)."""
    for chunk in sizes.cutter().cut_stream(f):
        yield bytes(chunk.data)


class MappedFile:
    """A file mapped read-only (an empty file maps to b""), for chunking without copies."""

    def __init__(self, path: Path | str) -> None:
        self._file = open(path, "rb")  # noqa: SIM115 - closed in close()
        size = Path(path).stat().st_size
        # MAP_POPULATE: the pages are read in one go, not faulted in one by one (~30% faster)
        flags = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)
        self.data: mmap.mmap | bytes = (
            mmap.mmap(self._file.fileno(), 0, flags=flags, prot=mmap.PROT_READ) if size else b""
        )

    def close(self) -> None:
        if isinstance(self.data, mmap.mmap):
            with contextlib.suppress(BufferError):  # a view still alive: unmapped when freed
                self.data.close()
        self._file.close()

    def __enter__(self) -> MappedFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def chunk_file(path: Path | str, sizes: Sizes = NATIVE) -> Iterator[bytes]:
    """The content-defined chunks of the file at `path`, as bytes."""
    with MappedFile(path) as mapped:
        for view in chunk_buffer(mapped.data, sizes):
            yield bytes(view)

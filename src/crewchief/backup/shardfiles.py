"""A native copy as the shard's own files: read in place while writes wait, restored in place.

For an embedded target, the native copy of a collection is not a snapshot archive (a
sparse copy of the shard, then tar, SHA-256 and fsync, then chunked again) but the files
of its Edge shard folder, read where they lie while the collection holds them still
(`Collection.held_still`: flushed; writes and index-build swaps wait, queries go on):

- only a file's data is read: its holes (the shard's preallocated, mostly empty files)
  are found with SEEK_DATA/SEEK_HOLE and recorded as the file's `extents`;
- the data is cut into regions of `REGION` bytes (at fixed offsets from each extent's
  start), and each region is mapped, cut into content-defined chunks (FastCDC, GIL
  released) and hashed (BLAKE3, GIL released) on worker threads, a few regions ahead of
  the thread that packs the new chunks; nothing is copied in memory (packs are written
  from the mappings with gathered writes, all of them before the files are let go);
- a restore writes each file at its size with only its extents filled (holes stay
  holes), every chunk checked against its digest as it is read, straight into the
  destination engine's staging folder, which the engine then installs
  (`recover_shard`): no archive is written, checked or extracted.

A destination that is not this process's engine (`crewchief serve`) gets a snapshot
archive made from the restored files by a scratch embedded engine.
"""

from __future__ import annotations

import contextlib
import errno
import mmap
import os
import stat
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import blake3
from qdrant_client import models

from crewchief.backup.chunker import NATIVE
from crewchief.backup.manifest import FileEntry, NativeCopy, UploadStats
from crewchief.backup.packs import CORRUPT_HINT
from crewchief.backup.repository import Repository
from crewchief.core.client import created
from crewchief.errors import SnapshotCorrupt
from crewchief.fsutil import staging_dir
from crewchief.target import EmbeddedTarget, Target

REGION = 8 * 1024 * 1024  # a region is read, cut and hashed by one worker
WORKERS = max(2, min(4, os.cpu_count() or 2))
AHEAD = 2 * WORKERS  # regions in flight (bounds memory: AHEAD * REGION bytes)

Cut = list[tuple[int, int, str]]  # (offset in the region, length, BLAKE3 hex) per chunk


def data_extents(fd: int, size: int) -> list[tuple[int, int]]:
    """(offset, length) of each run of data in the open file, holes left out; the whole
    file when the file system cannot tell holes from data."""
    out: list[tuple[int, int]] = []
    pos = 0
    while pos < size:
        try:
            start = os.lseek(fd, pos, os.SEEK_DATA)
        except OSError as exc:
            if exc.errno == errno.ENXIO:  # nothing but a hole from `pos` to the end
                break
            if exc.errno in (errno.EINVAL, errno.EOPNOTSUPP):
                return [(0, size)]
            raise
        end = min(size, os.lseek(fd, start, os.SEEK_HOLE))
        if start >= size or end <= start:
            break
        out.append((start, end - start))
        pos = end
    return out


def _cut(fd: int, offset: int, length: int) -> tuple[mmap.mmap, memoryview, Cut]:
    """Map one region (its pages read in at once) and cut and hash it, on a worker thread
    (mapping, FastCDC and BLAKE3 all drop the GIL).  Nothing is copied: the new chunks go
    into packs as views of the mapping, written before the files are let go."""
    if os.fstat(fd).st_size < offset + length:  # (a mapping read past the end would crash)
        raise SnapshotCorrupt("A shard file shrank while it was read", hint="Take the backup again")
    base = offset - offset % mmap.ALLOCATIONGRANULARITY
    flags = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)
    mapped = mmap.mmap(fd, length + offset - base, flags, mmap.PROT_READ, offset=base)
    view = memoryview(mapped)[offset - base :]
    cuts = [
        (c.offset, c.length, blake3.blake3(view[c.offset : c.offset + c.length]).hexdigest())
        for c in NATIVE.cutter().cut_buf(view)
    ]
    return mapped, view, cuts


def _walk(root: Path) -> tuple[list[str], list[Path]]:
    """The folders and regular files under `root`, sorted; anything else is refused."""
    dirs: list[str] = []
    files: list[Path] = []
    for path in sorted(root.rglob("*")):
        mode = path.lstat().st_mode
        if stat.S_ISDIR(mode):
            dirs.append(path.relative_to(root).as_posix())
        elif stat.S_ISREG(mode):
            files.append(path)
        else:
            raise SnapshotCorrupt(
                f"The shard folder holds {path.name}, which is neither a file nor a folder",
                hint="Back up with --no-native, or remove it",
            )
    return dirs, files


def store_shard(repo: Repository, root: Path, kind: str, stats: UploadStats) -> NativeCopy:
    """Store the files under `root` (held still by the caller) as a native copy."""
    dirs, paths = _walk(root)
    entries: list[FileEntry] = []
    fds: list[int] = []
    maps: list[mmap.mmap] = []
    try:
        regions: list[tuple[int, int, int, int]] = []  # (file index, fd, offset, length)
        for i, path in enumerate(paths):
            fd = os.open(path, os.O_RDONLY)
            fds.append(fd)
            size = os.fstat(fd).st_size
            extents = data_extents(fd, size)
            entries.append(FileEntry(path.relative_to(root).as_posix(), size, [], extents))
            for start, length in extents:
                for lo in range(start, start + length, REGION):
                    regions.append((i, fd, lo, min(REGION, start + length - lo)))
        with ThreadPoolExecutor(WORKERS, thread_name_prefix="crewchief-cut") as pool:
            ahead: deque[tuple[int, Future[tuple[mmap.mmap, memoryview, Cut]]]] = deque()
            todo = iter(regions)
            while True:
                while len(ahead) < AHEAD and (r := next(todo, None)) is not None:
                    ahead.append((r[0], pool.submit(_cut, r[1], r[2], r[3])))
                if not ahead:
                    break
                index, future = ahead.popleft()
                mapped, view, cuts = future.result()
                maps.append(mapped)
                chunks = entries[index].chunks
                for offset, length, digest in cuts:
                    repo.add_chunk(digest, view[offset : offset + length], stats)
                    chunks.append((digest, length))
        repo.drain_pending()  # the packs holding views of the files, stored while held
    finally:
        for mapped in maps:
            with contextlib.suppress(BufferError):  # a failed backup's views: freed later
                mapped.close()
        for fd in fds:
            os.close(fd)
    return NativeCopy(kind, files=entries, dirs=dirs)


@contextmanager
def held(target: EmbeddedTarget, name: str) -> Iterator[Path]:
    """The collection's shard folder, held still (writes wait, queries go on)."""
    with target.engine.collection(name).held_still() as root:
        yield root


# -- restore --------------------------------------------------------------------------------------


def _placed(entry: FileEntry) -> list[tuple[int, int]]:
    """Where each of the file's chunks goes: (file offset, length); SnapshotCorrupt if its
    chunks do not fill its extents exactly, chunk by chunk."""
    extents = entry.extents if entry.extents is not None else [(0, entry.size)]
    out: list[tuple[int, int]] = []
    spans = iter(extents)
    pos, end = 0, 0
    for _digest, length in entry.chunks:
        while pos == end:
            span = next(spans, None)
            if span is None:
                break
            pos, end = span[0], span[0] + span[1]
        if pos + length > end or end > entry.size:
            break
        out.append((pos, length))
        pos += length
    if len(out) != len(entry.chunks) or pos != end or next(spans, None) is not None:
        raise SnapshotCorrupt(
            f"{entry.path}: its chunks do not fill its extents (the manifest is damaged)",
            hint=CORRUPT_HINT,
        )
    return out


def _safe(rel: str, root: Path) -> Path:
    if rel.startswith("/") or ".." in Path(rel).parts:
        raise SnapshotCorrupt(f"Manifest entry {rel!r} escapes the target folder")
    return root / rel


def write_shard(repo: Repository, native: NativeCopy, root: Path) -> None:
    """Write the native copy's files under `root`, sparse, every chunk checked."""
    root.mkdir(parents=True, exist_ok=True)
    for rel in native.dirs:
        _safe(rel, root).mkdir(parents=True, exist_ok=True)
    files = native.files or []
    places = [_placed(entry) for entry in files]
    fds: list[int] = []
    try:
        targets: list[tuple[int, int]] = []  # (fd, offset) per chunk, in manifest order
        wanted: list[tuple[str, int]] = []
        for entry, where in zip(files, places, strict=True):
            path = _safe(entry.path, root)
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            fds.append(fd)
            os.ftruncate(fd, entry.size)  # all hole; the data goes in below
            targets += [(fd, offset) for offset, _length in where]
            wanted += entry.chunks

        def put(i: int, data: memoryview) -> None:  # on a reader thread (pwrite drops the GIL)
            fd, offset = targets[i]
            while data:  # a short write goes on where it stopped
                written = os.pwrite(fd, data, offset)
                data, offset = data[written:], offset + written

        repo.read_chunks_into(wanted, put)
    finally:
        for fd in fds:
            os.close(fd)


def restore_shard(
    repo: Repository, native: NativeCopy, config: dict[str, object], dest: Target, name: str
) -> None:
    """Restore the native copy as collection `name` of `dest` (a crewchief-edge target)."""
    parsed = models.CollectionConfig.model_validate(config)
    if isinstance(dest, EmbeddedTarget):
        dest.engine.recover_shard(name, parsed, lambda root: write_shard(repo, native, root))
        return
    with staging_dir("restore-native") as tmp:  # a scratch engine makes the archive
        scratch = EmbeddedTarget(tmp / "engine")
        try:
            scratch.engine.recover_shard(name, parsed, lambda r: write_shard(repo, native, r))
            snap = created(scratch.client.create_snapshot(name), name)
            file = scratch.engine.snapshot_file(name, snap.name)
            dest.upload_snapshot(name, file, snap.checksum)
        finally:
            scratch.close()

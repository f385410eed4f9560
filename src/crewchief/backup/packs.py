"""Pack files: many chunks in one stored object, and the index that finds them (repo format 2).

    packs/<p[:2]>/<p>    chunks back to back, then a table of (BLAKE3 digest, length) per
                         chunk, the chunk count and the magic b"CCPACK01"; p = the BLAKE3
                         of the whole pack, so a pack is checked as one and every chunk in
                         it on its own
    index/<id>.json      {"format": "crewchief-index-1",
                          "packs": {p: [[digest, offset, length], ...]}}

As in restic, a backup appends its new chunks to a pack of ~16 MiB and stores the
pack with one `put` (one fsync, one S3 request) instead of one per chunk; full packs
are written by background threads while the next one fills.  An index file is written
only once the packs it names are stored, and a backup's manifest only after its
index: a backup killed at any moment leaves packs no index names (or indexed chunks
no manifest names), which prune removes.  The pack table makes the index
rebuildable from the packs alone.
"""

from __future__ import annotations

import json
import struct
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import blake3

from crewchief.backup.storage import Storage
from crewchief.errors import SnapshotCorrupt

PACK_TARGET = 16 * 1024 * 1024  # a pack is sealed once it holds this many bytes
INDEX_EVERY = 64  # packs per index file during a long backup (bounds what a crash loses)
WRITERS = 2  # packs written (fsynced, uploaded) at once, in background threads
INDEX_FORMAT = "crewchief-index-1"
MAGIC = b"CCPACK01"
ENTRY = struct.Struct("<32sI")  # digest, length
TAIL = struct.Struct("<I8s")  # chunk count, magic
CORRUPT_HINT = "Run crewchief backup verify --all; an older backup may still be intact"
Sink = Callable[[int, memoryview], None]


def digest_of(data: bytes | bytearray | memoryview) -> str:
    """A chunk's (or a pack's) name: BLAKE3-256, hex."""
    return blake3.blake3(data).hexdigest()


def pack_key(pack: str) -> str:
    return f"packs/{pack[:2]}/{pack}"


@dataclass(frozen=True)
class Location:
    pack: str
    offset: int
    length: int


def pack_table(data: bytes | bytearray | memoryview) -> list[tuple[str, int, int]]:
    """(digest, offset, length) of every chunk a pack says it holds; SnapshotCorrupt if the
    table is malformed."""
    view = memoryview(data)
    if len(view) < TAIL.size:
        raise SnapshotCorrupt("A pack is truncated (no table)", hint=CORRUPT_HINT)
    count, magic = TAIL.unpack(view[-TAIL.size :])
    table_start = len(view) - TAIL.size - count * ENTRY.size
    if magic != MAGIC or table_start < 0:
        raise SnapshotCorrupt("A pack has no valid table (bad magic or count)", hint=CORRUPT_HINT)
    out, offset = [], 0
    for i in range(count):
        raw, length = ENTRY.unpack_from(view, table_start + i * ENTRY.size)
        out.append((raw.hex(), offset, length))
        offset += length
    if offset != table_start:
        raise SnapshotCorrupt("A pack's table does not match its size", hint=CORRUPT_HINT)
    return out


def new_index_id() -> str:
    return f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%S.%f')}Z-{uuid.uuid4().hex[:8]}"


def index_bytes(packs: dict[str, list[tuple[str, int, int]]]) -> bytes:
    body = {"format": INDEX_FORMAT, "packs": {p: [list(e) for e in es] for p, es in packs.items()}}
    return json.dumps(body, separators=(",", ":")).encode()


class Index:
    """digest -> Location over every index file of a repository."""

    def __init__(self) -> None:
        self.entries: dict[str, Location] = {}
        self.files: list[str] = []  # the index keys this was read from

    @classmethod
    def load(cls, storage: Storage) -> Index:
        index = cls()
        for key in storage.list("index/"):
            if not key.endswith(".json"):
                continue
            try:
                data: dict[str, Any] = json.loads(storage.get(key))
                if data.get("format") != INDEX_FORMAT:
                    raise ValueError(f"format {data.get('format')!r}")
                for pack, entries in data["packs"].items():
                    index.add(pack, entries)
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise SnapshotCorrupt(
                    f"Index file {key} is unreadable ({exc})", hint=CORRUPT_HINT
                ) from None
            index.files.append(key)
        return index

    def add(self, pack: str, entries: Iterable[Iterable[Any]]) -> None:
        for digest, offset, length in entries:
            self.entries[str(digest)] = Location(pack, int(offset), int(length))

    def packs(self) -> dict[str, list[tuple[str, int, int]]]:
        """pack -> its indexed chunks, in offset order."""
        out: dict[str, list[tuple[str, int, int]]] = {}
        for digest, loc in self.entries.items():
            out.setdefault(loc.pack, []).append((digest, loc.offset, loc.length))
        for entries in out.values():
            entries.sort(key=lambda e: e[1])
        return out


class PackWriter:
    """Collects new chunks into packs; each full pack is stored by a background thread.

    `flush()` seals the last pack, waits for every write and records them in an index
    file: only then are the chunks safe to name in a manifest.
    """

    def __init__(self, storage: Storage, target: int | None = None) -> None:
        self.storage = storage
        self.target = target or PACK_TARGET
        self._parts: list[memoryview] = []  # the chunks of the pack filling, not copied
        self._size = 0
        self._entries: list[tuple[str, int, int]] = []
        self.added: set[str] = set()  # every chunk given to this writer
        self.stored: dict[str, Location] = {}  # chunks in an index file written by this writer
        self._inflight: deque[tuple[list[tuple[str, int, int]], Future[str]]] = deque()
        self._unindexed: dict[str, list[tuple[str, int, int]]] = {}
        self._pool = ThreadPoolExecutor(WRITERS, thread_name_prefix="crewchief-pack")

    def add(self, digest: str, data: bytes | bytearray | memoryview) -> None:
        """Add a chunk (kept by reference until its pack is stored: do not change `data`)."""
        if digest in self.added:
            return
        self.added.add(digest)
        self._entries.append((digest, self._size, len(data)))
        self._parts.append(memoryview(data))
        self._size += len(data)
        if self._size >= self.target:
            self._seal()

    def _seal(self) -> None:
        if not self._entries:
            return
        parts, entries = self._parts, self._entries
        self._parts, self._entries, self._size = [], [], 0
        table = b"".join(ENTRY.pack(bytes.fromhex(d), length) for d, _offset, length in entries)
        parts.append(memoryview(table + TAIL.pack(len(entries), MAGIC)))
        while len(self._inflight) >= WRITERS:  # bounded memory: wait for the oldest
            self._settle(self._inflight.popleft())
        self._inflight.append((entries, self._pool.submit(self._store, parts)))
        if len(self._unindexed) >= INDEX_EVERY:
            self._write_index()

    def _store(self, parts: list[memoryview]) -> str:
        """Name the pack by its BLAKE3 and store it (on a writer thread); its name."""
        hasher = blake3.blake3()
        for part in parts:
            hasher.update(part)
        pack = hasher.hexdigest()
        self.storage.put_parts(pack_key(pack), parts)
        return pack

    def _settle(self, item: tuple[list[tuple[str, int, int]], Future[str]]) -> None:
        entries, future = item
        self._unindexed[future.result()] = entries  # a failed write raises here

    def _write_index(self) -> None:
        if not self._unindexed:
            return
        self.storage.put(f"index/{new_index_id()}.json", index_bytes(self._unindexed))
        for pack, entries in self._unindexed.items():
            for digest, offset, length in entries:
                self.stored[digest] = Location(pack, offset, length)
        self._unindexed = {}

    def drain(self) -> None:
        """Store everything added so far (the data given to `add` is no longer used)."""
        self._seal()
        while self._inflight:
            self._settle(self._inflight.popleft())

    def flush(self) -> dict[str, Location]:
        """Store everything added so far and index it; returns what this writer stored."""
        self.drain()
        self._write_index()
        return self.stored

    def close(self) -> None:
        """Stop: wait for writes in flight (their packs stay unindexed: prune removes them)."""
        for _entries, future in self._inflight:
            future.cancel()
        self._pool.shutdown(wait=True)
        self._inflight.clear()


def check_packs(storage: Storage, index: Index, digests: set[str]) -> list[str]:
    """Read every pack holding one of `digests`: the pack's own checksum, its table and each
    of those chunks.  Returns the problems found, one line each (naming the chunk)."""
    problems: list[str] = []
    by_pack: dict[str, list[tuple[str, Location]]] = {}
    for digest in sorted(digests):
        loc = index.entries.get(digest)
        if loc is None:
            problems.append(f"object {digest[:12]}: in no pack index")
        else:
            by_pack.setdefault(loc.pack, []).append((digest, loc))
    packs = sorted(by_pack)
    with ThreadPoolExecutor(WRITERS, thread_name_prefix="crewchief-verify") as pool:
        for start in range(0, len(packs), WRITERS * 2):  # a few packs in memory at a time
            batch = packs[start : start + WRITERS * 2]
            for pack, found in zip(
                batch, pool.map(lambda p: _read_pack(storage, p), batch), strict=True
            ):
                problems += _pack_problems(pack, found, by_pack[pack])
    return problems


def _read_pack(storage: Storage, pack: str) -> bytes | Exception:
    try:
        return storage.get(pack_key(pack))
    except Exception as exc:  # missing or unreadable: a finding for each chunk in it
        return exc


def _pack_problems(
    pack: str, data: bytes | Exception, wanted: list[tuple[str, Location]]
) -> list[str]:
    if isinstance(data, Exception):
        return [f"object {d[:12]}: its pack {pack[:12]} cannot be read ({data})" for d, _ in wanted]
    problems = []
    for digest, loc in wanted:
        chunk = data[loc.offset : loc.offset + loc.length]
        if len(chunk) != loc.length or digest_of(chunk) != digest:
            problems.append(f"object {digest[:12]}: corrupt in pack {pack[:12]}")
    if digest_of(data) != pack:
        problems.append(f"pack {pack[:12]}: its checksum does not match its name")
    try:
        table = set(pack_table(data))
    except SnapshotCorrupt as exc:
        return [*problems, f"pack {pack[:12]}: {exc.message}"]
    for digest, loc in wanted:
        if (digest, loc.offset, loc.length) not in table:
            problems.append(f"object {digest[:12]}: not where the index says in {pack[:12]}")
    return problems


Part = tuple[str, int, int, int]  # a chunk of a run: digest, offset in the run, length, index
Run = tuple[str, int, int, list[Part]]  # pack, offset, length, its chunks


def _runs(locations: list[tuple[str, Location]]) -> list[Run]:
    """Chunks stored back to back in one pack, grouped for one ranged read each."""
    runs: list[Run] = []
    for i, (digest, loc) in enumerate(locations):
        last = runs[-1] if runs else None
        if (
            last
            and last[0] == loc.pack
            and last[1] + last[2] == loc.offset
            and last[2] < PACK_TARGET
        ):
            last[3].append((digest, loc.offset - last[1], loc.length, i))
            runs[-1] = (last[0], last[1], last[2] + loc.length, last[3])
        else:
            runs.append((loc.pack, loc.offset, loc.length, [(digest, 0, loc.length, i)]))
    return runs


def _fetch(
    storage: Storage, runs: list[Run], lookahead: int, sink: Sink | None
) -> Iterator[tuple[list[Part], memoryview]]:
    """Each run's parts and bytes, in order, read (and handed to `sink`) a few ahead on
    reader threads."""
    with ThreadPoolExecutor(WRITERS, thread_name_prefix="crewchief-read") as pool:
        ahead: deque[tuple[list[Part], Future[memoryview]]] = deque()
        todo = iter(runs)
        while True:
            while len(ahead) < lookahead and (run := next(todo, None)) is not None:
                ahead.append((run[3], pool.submit(_read_run, storage, run, sink)))
            if not ahead:
                return
            parts, fetch = ahead.popleft()
            yield parts, fetch.result()


def read_ranges(
    storage: Storage, locations: list[tuple[str, Location]], lookahead: int = 4
) -> Iterator[tuple[str, memoryview]]:
    """(digest, bytes) of each located chunk, in order, each checked against its digest.

    Runs of chunks stored back to back in one pack are fetched with one ranged read, a few
    reads ahead in background threads.
    """
    for parts, data in _fetch(storage, _runs(locations), lookahead, None):
        for digest, offset, length, _i in parts:
            yield digest, data[offset : offset + length]


def read_into(
    storage: Storage, locations: list[tuple[str, Location]], sink: Sink, lookahead: int = 4
) -> None:
    """Hand each located chunk, checked, to `sink(its index in locations, bytes)` on the
    reader threads, in no particular order (e.g. to write it where it belongs)."""
    for _parts, _data in _fetch(storage, _runs(locations), lookahead, sink):
        pass


def _read_run(storage: Storage, run: Run, sink: Sink | None) -> memoryview:
    """One ranged read of chunks stored back to back, each checked (on a reader thread:
    BLAKE3 drops the GIL) and given to `sink` if there is one (then not returned)."""
    pack, offset, length, parts = run
    data = memoryview(storage.get_range(pack_key(pack), offset, length))
    for digest, start, size, i in parts:
        chunk = data[start : start + size]
        if len(chunk) != size or digest_of(chunk) != digest:
            raise SnapshotCorrupt(
                f"Chunk {digest[:12]}... is corrupt (its checksum does not match)",
                hint=CORRUPT_HINT,
            )
        if sink is not None:
            sink(i, chunk)
    return data if sink is None else memoryview(b"")

"""One collection: an Edge shard in a generation folder, its status, and background indexing.

On disk (`<data>/collections/<id>/`, the id is the catalog's `dir` for the collection):

    CURRENT          the name of the live generation, e.g. "gen-000003"
    gen-000003/      the Edge shard folder (segments/, wal/, edge_config.json)

Only this module knows it: a collection starts at gen-000001; CURRENT is rewritten atomically.

Indexing never runs `optimize()` in this process (it holds the GIL for a minute).  Instead:
flush, copy the shard folder to the next generation (sparse; writes wait, reads go on), let
a child process optimize the copy while every update goes to an op log; then load the copy,
replay the log in chunks, replay the rest under the lock, flush, rewrite CURRENT and swap
the handle.  A crash before the CURRENT rewrite restarts on the old generation, whose WAL
holds every acknowledged write; stray generations are deleted on open.

Like Qdrant, a shard is flushed at most `flush_interval_sec` (default 5 s) after a write
(the write that finds the interval elapsed flushes), which lets Edge truncate its WAL.
Like Qdrant's vacuum optimizer, a build also starts when enough stored point versions
are dead (more than `deleted_threshold` of them and at least `vacuum_min_vector_number`).
Edge does not report dead versions, so they are counted here: every upserted point adds
a stored version, so dead = points at the last build + points upserted since - points now.

A config change waits until no build runs, then reopens the live shard with the new config
or, where Edge cannot change it in place, builds a new shard with it (then the same swap).

Status, as Qdrant defines it: green (nothing to do), yellow (an index build is running),
grey (unindexed vectors above the indexing threshold and no build running), red (the last
build or the load failed; optimizer_status carries the error).
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import qdrant_edge as edge
from qdrant_client import models

from crewchief.core.indexing import index_due, vacuum_due
from crewchief.engine.build_log import (
    CATCH_UP_ROUNDS,
    FINAL_REPLAY_OPS,
    BuildRecord,
    OpLog,
    replay,
)
from crewchief.engine.config import edge_config, vector_sizes
from crewchief.errors import EngineFailure, InvalidInput
from crewchief.fsutil import atomic_write_bytes, remove_tree, sparse_copy, wait_until_absent

T = TypeVar("T")
CURRENT = "CURRENT"  # the file naming the live generation
# a WAL segment Edge's allocator thread is still preallocating (renamed when done): a copy
# of a held-still shard folder waits for it, or cp finds it gone ("cannot stat")
WAL_TMP = "tmp-*"


def _generation(number: int) -> str:
    return f"gen-{number:06d}"


class Collection:
    def __init__(self, name: str, root: Path, config: models.CollectionConfig) -> None:
        self.name = name
        self.root = root
        self.config = config
        self.sizes = vector_sizes(config)
        self._lock = threading.RLock()
        self._paused, self._resumed = False, threading.Condition(self._lock)  # see _writable
        self._shard: edge.EdgeShard | None = None
        self._generation = ""
        self._oplog: OpLog | None = None
        self._builder: threading.Thread | None = None
        self._rebuilding = False  # the running build makes a new shard (config change)
        self._proc: subprocess.Popen[str] | None = None
        self.last_build: BuildRecord | None = None
        self.load_error: str | None = None
        # Unindexed vectors left by the last build: a build that could not index them
        # is not re-triggered until more arrive (no endless no-op rebuilds).
        self._unindexed_floor = 0
        self.auto_optimize = True  # start a build when a write leaves too much unindexed
        self._flushed_at = time.monotonic()
        # stored point versions: `_base_points` at the last build (or open) + `_upserted` since
        self._base_points = 0
        self._upserted = 0

    # -- life cycle ------------------------------------------------------------------------------

    @classmethod
    def create(cls, name: str, root: Path, config: models.CollectionConfig) -> Collection:
        col = cls(name, root, config)
        root.mkdir(parents=True)
        gen = _generation(1)
        col._shard = edge.EdgeShard.create(str(root / gen), edge_config(config))
        col._generation = gen
        atomic_write_bytes(root / CURRENT, gen.encode())
        return col

    @classmethod
    def install(
        cls, name: str, root: Path, config: models.CollectionConfig, shard_dir: Path
    ) -> Collection:
        """A new collection folder `root` whose first generation is `shard_dir` (an Edge
        shard folder, e.g. from a snapshot; moved, not copied), opened as `open` does."""
        root.mkdir(parents=True)
        gen = _generation(1)
        shard_dir.rename(root / gen)
        atomic_write_bytes(root / CURRENT, gen.encode())
        return cls.open(name, root, config)

    @classmethod
    def open(cls, name: str, root: Path, config: models.CollectionConfig) -> Collection:
        """Load the live generation; a failure leaves the collection red, not the engine down."""
        col = cls(name, root, config)
        try:
            gen = (root / CURRENT).read_text().strip()
            for stray in root.glob("gen-*"):
                if stray.name != gen:
                    remove_tree(stray)  # an interrupted build or swap
            for stale in root.glob(f".{CURRENT}.*.tmp"):  # a CURRENT rewrite cut short
                stale.unlink(missing_ok=True)
            col._shard = edge.EdgeShard.load(str(root / gen))
            col._generation = gen
            col._base_points = col._shard.info().points_count
        except (KeyboardInterrupt, SystemExit):
            raise
        # the engine reports any load failure as red status; BaseException because Edge
        # panics on some damage (a truncated vector file), and pyo3 raises a panic as
        # PanicException, which is not an Exception
        except BaseException as exc:
            col.load_error = f"load failed: {exc}"
        return col

    def flush(self) -> None:
        with self._lock:
            self._writable()
            if self._shard is not None:
                self._shard.flush()
                self._flushed_at = time.monotonic()

    def close(self) -> None:
        """Flush and close; a running index build is abandoned (its copy is removed)."""
        proc, builder = self._proc, self._builder
        if proc is not None:
            proc.kill()
        if builder is not None:
            builder.join()
        with self._lock:
            self._writable()
            if self._shard is not None:
                self._shard.flush()
                self._shard.close()
                self._shard = None

    @property
    def shard_dir(self) -> Path:
        return self.root / self._generation

    # -- access ----------------------------------------------------------------------------------

    def read(self, fn: Callable[[edge.EdgeShard], T]) -> T:
        with self._lock:
            return fn(self._live())

    def update(self, op: edge.UpdateOperation, upserted: int = 0) -> None:
        """Apply `op`; `upserted` = the number of points it writes (for the vacuum count)."""
        with self._lock:
            self._writable()
            shard = self._live()
            try:
                shard.update(op)
            except Exception as exc:
                if self._oplog is not None:  # what it may have applied goes to the build too
                    self._oplog.append((op, False))
                raise EngineFailure(f"Update failed: {exc}") from exc
            self._upserted += upserted
            if self._oplog is not None:
                self._oplog.append((op, True))
            if (
                time.monotonic() - self._flushed_at
                >= self.config.optimizer_config.flush_interval_sec
            ):
                self.flush()
        if self.auto_optimize and self.build_due():
            self.start_build()

    def _live(self) -> edge.EdgeShard:
        if self._shard is None:
            raise EngineFailure(
                f"Collection `{self.name}` is not available: {self.load_error or 'closed'}",
                hint=f"Restore it from a snapshot: crewchief snapshot list {self.name}",
            )
        return self._shard

    def copy_flushed(self, dst: Path) -> None:
        """Copy the shard folder, held still (flushed; reads go on), to `dst`."""
        with self.held_still() as src:
            sparse_copy(src, dst)

    @contextmanager
    def held_still(self) -> Iterator[Path]:
        """The shard folder, flushed, unchanged in the block: writes and swaps wait, not reads."""
        with self._quiet(rebuild_only=True):
            self._live().flush()
            self._paused = True
        try:
            wait_until_absent(self.shard_dir / "wal", WAL_TMP)
            yield self.shard_dir
        finally:
            with self._lock:
                self._paused = False
                self._resumed.notify_all()

    @contextmanager
    def _quiet(self, rebuild_only: bool = False) -> Iterator[None]:
        """Hold the lock while no build runs (`rebuild_only`: no shard rebuild runs)."""

        def waiting_for() -> threading.Thread | None:
            builder = self._builder
            busy = builder is not None and (self._rebuilding or not rebuild_only)
            return builder if busy and builder is not threading.current_thread() else None

        while True:
            builder = waiting_for()
            if builder is not None:
                builder.join()
                continue
            with self._lock:
                self._writable()
                if waiting_for() is None:
                    yield
                    return

    # -- config changes --------------------------------------------------------------------------

    def reconfigure(
        self,
        config: models.CollectionConfig,
        rebuild: bool,
        reindex: bool,
        done: Callable[[], None],
    ) -> None:
        """Apply a changed config (see the module docstring).  `done` runs once the shard
        has it: now, or when the rebuild is swapped in."""
        with self._quiet():
            if rebuild:
                self.config, self.sizes = config, vector_sizes(config)
                self.start_build(fresh=edge_config(config), on_swap=done)
                return
            shard = self._live()
            shard.flush()
            shard.close()
            self._shard = None
            try:
                self._shard = edge.EdgeShard.load(str(self.shard_dir), edge_config(config))
            except BaseException as exc:
                self._shard = edge.EdgeShard.load(str(self.shard_dir))  # as it was
                if isinstance(exc, KeyboardInterrupt | SystemExit):
                    raise
                raise InvalidInput(
                    f"Qdrant Edge refused the new config: {exc}",
                    hint="Leave that setting out of the update",
                ) from None
            self.config, self.sizes = config, vector_sizes(config)
        done()
        if (reindex and self.auto_optimize) or (self.auto_optimize and self.build_due()):
            self.start_build()

    def change_vectors(self, op: edge.UpdateOperation, config: models.CollectionConfig) -> None:
        """Apply a named-vector operation (create or delete) with the config it leads to."""
        with self._lock:
            self.update(op)
            self.config, self.sizes = config, vector_sizes(config)

    # -- status ----------------------------------------------------------------------------------

    def counts(self) -> tuple[int, int, int, dict[str, Any]]:
        """(points, indexed vectors, segments, payload schema) straight from the shard."""
        i = self.read(lambda s: s.info())
        return i.points_count, i.indexed_vectors_count, i.segments_count, i.payload_schema

    def needs_index(self) -> bool:
        """Unindexed vectors above the indexing threshold (KB, as in Qdrant) and new since
        the last build: status grey when no build runs."""
        if self._shard is None or self.building:
            return False
        points, indexed, _segments, _schema = self.counts()
        return self._index_due(points, indexed)

    def build_due(self) -> bool:
        """An index build or a vacuum is due (one look at the shard for both)."""
        if self._shard is None or self.building:
            return False
        points, indexed, _segments, _schema = self.counts()
        return self._index_due(points, indexed) or self._vacuum_due(points)

    def _index_due(self, points: int, indexed: int) -> bool:
        threshold_kb = self.config.optimizer_config.indexing_threshold
        s = self.sizes
        return index_due(points, indexed, s, s.per_point, threshold_kb, self._unindexed_floor)

    def _vacuum_due(self, points: int) -> bool:
        """Dead point versions counted since the last build or open (older ones are not known)."""
        o = self.config.optimizer_config
        stored = self._base_points + self._upserted
        return vacuum_due(stored, points, o.deleted_threshold, o.vacuum_min_vector_number)

    @property
    def building(self) -> bool:
        return self._builder is not None

    def segment_ids(self) -> list[str]:
        """The live generation's segment folders (named by Qdrant's segment UUIDs); read only."""
        with self._lock:
            folder = self.shard_dir / "segments"
            if self._shard is None or not folder.is_dir():
                return []
            return sorted(p.name for p in folder.iterdir() if p.is_dir())

    def status(self) -> tuple[models.CollectionStatus, str | None]:
        """(status, error) as Qdrant reports it in CollectionInfo."""
        if self.load_error:
            return models.CollectionStatus.RED, self.load_error
        if self.last_build is not None and self.last_build.error:
            return models.CollectionStatus.RED, self.last_build.error
        if self.building:
            return models.CollectionStatus.YELLOW, None
        if self.needs_index():
            return models.CollectionStatus.GREY, None
        return models.CollectionStatus.GREEN, None

    # -- background index build --------------------------------------------------------------------

    def start_build(
        self, fresh: edge.EdgeConfig | None = None, on_swap: Callable[[], None] | None = None
    ) -> threading.Thread | None:
        """Start an index build unless one is running; return the thread doing it.
        `fresh`: build a new shard with this config from a copy of the points instead."""
        self.flush()  # most of the flush before anyone waits
        with self._lock:
            self._writable()
            if self._builder is not None:
                return self._builder
            target = self.root / _generation(int(self._generation.split("-")[1]) + 1)
            source = target.with_name(target.name + ".src") if fresh is not None else None
            for stale in filter(None, (target, source)):
                remove_tree(stale)
            self._live().flush()
            self._paused = True
        try:  # writes wait for the copy, reads go on
            wait_until_absent(self.shard_dir / "wal", WAL_TMP)
            sparse_copy(self.shard_dir, source or target)
            if fresh is not None:
                edge.EdgeShard.create(str(target), fresh).close()
        except BaseException:
            with self._lock:
                self._paused = False
                self._resumed.notify_all()
            raise
        with self._lock:  # writes resume with the op log started: none is missed
            self._paused = False
            self._resumed.notify_all()
            self._rebuilding = source is not None
            self._base_points = self._live().info().points_count
            self._upserted, self._oplog = 0, []
            self.last_build = BuildRecord(started=time.time())
            self._builder = threading.Thread(
                target=self._build, args=(target, source, on_swap), daemon=True, name=self.name
            )
            self._builder.start()
        return self._builder

    def _writable(self) -> None:  # wait (the lock released) while a build's copy pauses writes
        while self._paused:
            self._resumed.wait()

    def _build(self, target: Path, source: Path | None, on_swap: Callable[[], None] | None) -> None:
        record = self.last_build
        assert record is not None
        copy = ["--copy-from", str(source)] if source is not None else []
        try:
            self._proc = subprocess.Popen(
                # run as a plain script: importing the package first would take seconds
                # before the builder can ask to die with its parent
                [sys.executable, str(Path(__file__).with_name("builder.py")), str(target), *copy],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            out, err = self._proc.communicate()
            if self._proc.returncode != 0:
                tail = (err.strip().splitlines() or ["no output"])[-1]
                raise EngineFailure(f"index build failed (exit {self._proc.returncode}): {tail}")
            record.changed = "optimized=True" in out
            self._swap_in(target)
            if on_swap is not None:
                on_swap()
        except Exception as exc:
            record.error = str(exc)
            with self._lock:
                self._oplog = None
            remove_tree(target)
        finally:
            if source is not None:
                remove_tree(source)
            record.finished = time.time()
            with self._lock:
                self._builder, self._proc, self._rebuilding = None, None, False
        # writes made during the build may have left enough unindexed (or dead) for another one
        if record.error is None and self.auto_optimize and self.build_due():
            self.start_build()

    def _swap_in(self, target: Path) -> None:
        new = edge.EdgeShard.load(str(target))
        try:
            # What the build left unindexed (writes made meanwhile are new: not counted)
            info = new.info()
            unindexed = info.points_count * self.sizes.per_point - info.indexed_vectors_count
            self._unindexed_floor = max(0, unindexed)
            # Catch up with the build's writes outside the lock, a batch at a time
            for _round in range(CATCH_UP_ROUNDS):
                with self._lock:
                    assert self._oplog is not None
                    if len(self._oplog) <= FINAL_REPLAY_OPS:
                        break
                    chunk, self._oplog = self._oplog, []
                replay(new, chunk)
            with self._lock:
                self._writable()  # not while a backup reads the old files (held_still)
                assert self._oplog is not None
                replay(new, self._oplog)
                new.flush()
                atomic_write_bytes(self.root / CURRENT, target.name.encode())
                old, old_dir = self._shard, self.shard_dir
                self._shard, self._generation, self._oplog = new, target.name, None
        except BaseException:
            new.close()
            raise
        if old is not None:
            old.close()
        remove_tree(old_dir)

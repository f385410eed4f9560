"""The operations under fault, each with its model of what must survive a kill -9.

Every scenario keeps a model of the acknowledged state (what the killed worker
said was done) and the step that was in flight (which may or may not have
happened).  Its check compares the reopened directory with the model; after the
check the model is re-synchronised with what is actually there, and the next
worker continues from it.
"""

from __future__ import annotations

import hashlib
import shutil
import tarfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from qdrant_client import models

from crewchief import Engine
from crewchief.backup.backups import create_backup, verify_backup
from crewchief.backup.repository import Repository
from crewchief.target import EmbeddedTarget
from tests.faults import worker
from tests.faults.harness import Check, Scenario


def vector(i: int, dim: int, salt: int = 0) -> list[float]:
    return [float(((i + salt) * 31 + k * 17) % 23) / 23.0 - 0.5 for k in range(dim)]


def make_points(ids: Iterable[int], dim: int, **payload: Any) -> list[models.PointStruct]:
    return [
        models.PointStruct(id=i, vector=vector(i, dim), payload={**payload, "i": i}) for i in ids
    ]


def create(engine: Engine, name: str, ids: Iterable[int], dim: int, **kwargs: Any) -> None:
    engine.create_collection(
        name,
        vectors_config=models.VectorParams(size=dim, distance=models.Distance.COSINE),
        **kwargs,
    )
    points = make_points(ids, dim)
    for start in range(0, len(points), 500):
        engine.upsert(name, points[start : start + 500])


def all_ids(target: EmbeddedTarget, name: str) -> dict[int | str, dict[str, Any]]:
    """Every point of `name`: id -> payload."""
    out: dict[int | str, dict[str, Any]] = {}
    offset = None
    while True:
        page, offset = target.client.scroll(name, limit=1000, offset=offset, with_payload=True)
        out.update({p.id: p.payload or {} for p in page})
        if offset is None:
            return out


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- ingest ---------------------------------------------------------------------------------------

ABSENT = -1


class Ingest(Scenario):
    """Upserts and deletes; builds start all the time (a low indexing threshold)."""

    name = "ingest"
    max_delay = 1.5

    def prepare(self) -> None:
        with Engine(self.data) as engine:
            engine.create_collection(
                "c",
                vectors_config=models.VectorParams(
                    size=worker.INGEST_DIM, distance=models.Distance.DOT
                ),
                optimizers_config=models.OptimizersConfigDiff(indexing_threshold=20),
            )
        self.expected: dict[int, int] = {}  # id -> step of its last acknowledged write
        self.in_flight = 0

    def params(self) -> dict[str, Any]:
        return {"start": self.in_flight}

    def absorb(self, acks: list[dict[str, Any]]) -> None:
        for a in acks:
            step = int(a["step"])
            for i in worker.upserted_ids(step):
                self.expected[i] = step
            for i in worker.deleted_ids(step):
                self.expected[i] = ABSENT
            self.in_flight = step + 1

    def check(self, target: EmbeddedTarget) -> Check:
        result = Check()
        ids = list(range(worker.BLOCK * worker.BLOCKS))
        found = {
            r.id: r for r in target.client.retrieve("c", ids, with_payload=True, with_vectors=True)
        }
        maybe = {i: self.in_flight for i in worker.upserted_ids(self.in_flight)}
        maybe.update({i: ABSENT for i in worker.deleted_ids(self.in_flight)})
        lost, unexpected = 0, []
        for i in ids:
            record = found.get(i)
            actual = ABSENT if record is None else int((record.payload or {})["step"])
            allowed = {self.expected.get(i, ABSENT), maybe.get(i, self.expected.get(i, ABSENT))}
            if actual in allowed:
                if record is not None and record.vector != worker.ingest_vector(i, actual):
                    unexpected.append(f"id {i}: vector differs from step {actual}'s")
                continue
            if actual == ABSENT or actual < self.expected.get(i, ABSENT):
                lost += 1
            else:
                unexpected.append(f"id {i}: step {actual}, expected one of {sorted(allowed)}")
        if lost:
            result.fail(f"{lost} acknowledged writes missing or stale", lost=lost)
        if unexpected:
            result.fail(f"{len(unexpected)} points in no acknowledged state: {unexpected[:5]}")
        for i, record in found.items():  # resync with what is there: the in-flight step
            self.expected[int(i)] = int((record.payload or {})["step"])
        for i in ids:
            if i not in found and i in self.expected:
                self.expected[i] = ABSENT
        return result


class GrpcUpload(Scenario):
    """A gRPC client uploading to `crewchief serve`'s gRPC server; both die mid-upload.
    Every batch the server answered OK is there, whole; at most the one in flight more."""

    name = "grpc_upload"
    max_delay = 1.5

    def prepare(self) -> None:
        self.data.mkdir(parents=True, exist_ok=True)
        self.acked = 0  # points the client was told are stored

    def params(self) -> dict[str, Any]:
        return {}

    def absorb(self, acks: list[dict[str, Any]]) -> None:
        for a in acks:
            self.acked = max(self.acked, int(a["points"]))

    def check(self, target: EmbeddedTarget) -> Check:
        result = Check()
        if not target.client.collection_exists("c"):
            if self.acked:
                result.fail(f"collection gone, {self.acked} acknowledged points lost", self.acked)
            return result
        found = all_ids(target, "c")
        lost = [i for i in range(self.acked) if i not in found]
        if lost:
            result.fail(f"{len(lost)} acknowledged points missing: {lost[:5]}", lost=len(lost))
        beyond = sorted(int(i) for i in found if int(i) >= self.acked)
        in_flight = range(self.acked, self.acked + worker.GRPC_BATCH)
        if beyond and beyond != list(in_flight):
            result.fail(f"points beyond the acknowledged ones, not one whole batch: {beyond[:5]}")
        records = target.client.retrieve("c", list(range(0, self.acked, 97)), with_vectors=True)
        wrong = [r.id for r in records if r.vector != worker.grpc_vector(int(r.id))]
        if wrong:
            result.fail(f"acknowledged points with the wrong vector: {wrong[:5]}")
        result.note("acked_points", self.acked)
        self.acked = len(found)  # resync: the next worker continues after what is there
        return result


# -- alias batches --------------------------------------------------------------------------------


class Aliases(Scenario):
    """Batches of delete+create, create-over and rename+delete+create, all or nothing."""

    name = "aliases"
    max_delay = 1.0

    def prepare(self) -> None:
        with Engine(self.data) as engine:
            for n, name in enumerate(worker.VERSIONS):
                create(engine, name, range(n * 10, n * 10 + 5), dim=4)
            engine.update_collection_aliases(
                [
                    models.CreateAliasOperation(
                        create_alias=models.CreateAlias(collection_name="v1", alias_name=alias)
                    )
                    for alias in worker.ALIASES
                ]
            )
        self.acked = "v1"
        self.in_flight = 1  # step 0 points at v1 too; start moving at once

    def params(self) -> dict[str, Any]:
        return {"start": self.in_flight}

    def absorb(self, acks: list[dict[str, Any]]) -> None:
        for a in acks:
            self.acked = a["target"]
            self.in_flight = int(a["step"]) + 1

    def check(self, target: EmbeddedTarget) -> Check:
        result = Check()
        current = target.aliases()
        allowed = {self.acked, worker.alias_target(self.in_flight)}
        if set(current) != set(worker.ALIASES):
            result.fail(f"alias names {sorted(current)} != {list(worker.ALIASES)}")
        targets = set(current.values())
        if len(targets) != 1:
            result.fail(f"half-applied batch: {current}")
        elif not targets <= allowed:
            result.fail(f"aliases point at {targets}, neither the old nor the new map {allowed}", 1)
        for alias in worker.ALIASES:
            history = target.alias_history(alias)
            if not history or history[-1].new != current.get(alias):
                last = history[-1] if history else None
                result.fail(f"history of `{alias}` ends at {last}, the catalog says {current}")
            for before, after in zip(history, history[1:], strict=False):
                if before.new != after.old:
                    result.fail(f"history of `{alias}` is not a chain: {before} then {after}")
                    break
        if target.alias_history("c_moving"):
            result.fail("the rename inside a batch leaked into history as its own change")
        if len(targets) == 1:
            self.acked = targets.pop()
        return result


# -- snapshot creation ----------------------------------------------------------------------------


class Snapshots(Scenario):
    """Collection and full snapshots, created and pruned (the two newest kept)."""

    name = "snapshot"
    max_delay = 2.0
    points = 2000

    def prepare(self) -> None:
        with Engine(self.data) as engine:
            create(engine, "c", range(self.points), dim=64)
            create(engine, "d", range(100), dim=8)
        self.live: dict[str, dict[str, str]] = {"collection": {}, "full": {}}
        self.in_flight = 0

    def params(self) -> dict[str, Any]:
        return {"start": self.in_flight}

    def absorb(self, acks: list[dict[str, Any]]) -> None:
        for a in acks:
            if "deleted" in a:
                for name in a["deleted"]:
                    self.live[a["kind"]].pop(name, None)
            else:
                self.live[a["kind"]][a["name"]] = a["checksum"]
            self.in_flight = int(a["step"]) + 1

    def check(self, target: EmbeddedTarget) -> Check:
        result = Check()
        engine = target.engine
        listed = {
            "collection": {s.name: s.checksum for s in engine.list_snapshots("c")},
            "full": {s.name: s.checksum for s in engine.list_full_snapshots()},
        }
        for kind, snaps in listed.items():
            for name, checksum in snaps.items():
                path = (
                    engine.full_snapshot_file(name)
                    if kind == "full"
                    else engine.snapshot_file("c", name)
                )
                if checksum is None or sha256(path) != checksum:
                    result.fail(f"listed {kind} snapshot {name} is not whole (checksum)")
            # the in-flight step may have pruned all but the newest ones
            prunable = set(sorted(self.live[kind])[: -worker.KEEP_SNAPSHOTS])
            for name, checksum in self.live[kind].items():
                if name not in snaps and name not in prunable:
                    result.fail(f"acknowledged {kind} snapshot {name} is gone", lost=1)
                elif name in snaps and snaps[name] != checksum:
                    result.fail(f"{kind} snapshot {name} changed after it was acknowledged")
            self.live[kind] = {n: c for n, c in snaps.items() if c is not None}
        newest = sorted(listed["collection"])[-1:] if listed["collection"] else []
        for name in newest:  # a listed snapshot recovers, whole
            engine.recover_snapshot("restored", str(engine.snapshot_file("c", name)))
            count = engine.count("restored").count
            engine.delete_collection("restored")
            if count != self.points:
                result.fail(f"snapshot {name} recovers {count} points, not {self.points}")
        for name in sorted(listed["full"])[-1:]:
            with tarfile.open(engine.full_snapshot_file(name)) as tar:
                members = set(tar.getnames())
            if "config.json" not in members or len(members) != 3:
                result.fail(f"full snapshot {name} holds {sorted(members)}")
        return result


# -- snapshot recovery ----------------------------------------------------------------------------

SOURCES = {"A": range(0, 300), "B": range(1000, 1500)}


class Recovery(Scenario):
    """Recovering over an existing collection (A and B in turn) and into a new one."""

    name = "recover"
    max_delay = 2.0

    def prepare(self) -> None:
        scratch, snaps = self.work / "scratch", self.work / "snaps"
        snaps.mkdir(parents=True)
        self.sources: dict[str, dict[str, str]] = {}
        with Engine(scratch) as engine:
            for label, ids in SOURCES.items():
                engine.create_collection(
                    label,
                    vectors_config=models.VectorParams(size=16, distance=models.Distance.COSINE),
                )
                engine.upsert(label, make_points(ids, 16, src=label))
                snap = engine.create_snapshot(label)
                dest = snaps / f"{label}.snapshot"
                shutil.copyfile(engine.snapshot_file(label, snap.name), dest)
                assert snap.checksum is not None
                self.sources[label] = {"path": str(dest), "checksum": snap.checksum}
        shutil.rmtree(scratch)
        with Engine(self.data) as engine:
            engine.recover_snapshot("c", self.sources["A"]["path"])
        self.c_source = "A"
        self.fresh = False
        self.in_flight = 1  # step 0 would recover A over A

    def params(self) -> dict[str, Any]:
        return {"start": self.in_flight, "sources": self.sources}

    def absorb(self, acks: list[dict[str, Any]]) -> None:
        for a in acks:
            if a["collection"] == "c":
                self.c_source = a["source"]
            else:
                self.fresh = True
            self.in_flight = int(a["step"]) + 1

    def _source_of(self, target: EmbeddedTarget, name: str) -> str | None:
        """ "A" or "B" when `name` holds exactly that source's points, else a description."""
        points = all_ids(target, name)
        for label, ids in SOURCES.items():
            if set(points) == set(ids) and all(p.get("src") == label for p in points.values()):
                return label
        srcs = sorted({str(p.get("src")) for p in points.values()})
        return f"a mix: {len(points)} points from {srcs}"

    def check(self, target: EmbeddedTarget) -> Check:
        result = Check()
        name, source = worker.recover_step(self.in_flight)
        allowed_c = {self.c_source} | ({source} if name == "c" else set())
        if not target.client.collection_exists("c"):
            result.fail("`c` vanished during a recovery over it", lost=1)
        else:
            got = self._source_of(target, "c")
            if got not in allowed_c:
                lost = int(got in SOURCES)  # an older source: the acknowledged one is lost
                result.fail(f"`c` holds {got}, expected one of {sorted(allowed_c)}", lost)
            elif got in SOURCES:
                self.c_source = got
        exists = target.client.collection_exists("fresh")
        if exists:
            got = self._source_of(target, "fresh")
            if got != "A":
                result.fail(f"`fresh` holds {got}: a half-recovered collection is listed")
        elif self.fresh and name != "fresh":
            result.fail("acknowledged recovery of `fresh` is gone", lost=1)
        self.fresh = exists
        return result


# -- deploy ---------------------------------------------------------------------------------------


class Deploy(Scenario):
    """Blue-green deploys app_vN -> app_vN+1 in a loop (copy, build, gates, switch, gc)."""

    name = "deploy"
    max_delay = 12.0  # a deploy takes several seconds (copy, index build in a child, gates)
    points = 400

    def prepare(self) -> None:
        with Engine(self.data) as engine:
            create(engine, "app_v1", range(self.points), dim=16)
            engine.update_collection_aliases(
                [
                    models.CreateAliasOperation(
                        create_alias=models.CreateAlias(collection_name="app_v1", alias_name="app")
                    )
                ]
            )
        self.acked = 1

    def params(self) -> dict[str, Any]:
        return {}

    def absorb(self, acks: list[dict[str, Any]]) -> None:
        for a in acks:
            self.acked = int(a["step"])

    def check(self, target: EmbeddedTarget) -> Check:
        result = Check()
        current = target.aliases().get("app")
        allowed = {f"app_v{self.acked}", f"app_v{self.acked + 1}"}
        if current not in allowed:
            result.fail(f"`app` points at {current}, expected one of {sorted(allowed)}", lost=1)
        if current is not None and target.client.collection_exists(current):
            points = all_ids(target, current)
            missing = set(range(self.points)) - set(points)
            if missing or len(points) != self.points:
                result.fail(f"`app` -> {current} has {len(points)} points", lost=len(missing))
            self.acked = int(current.rsplit("v", 1)[1])
        for name in target.collection_names():
            if not name.startswith("app_v"):
                result.fail(f"unexpected collection {name}")
        return result


# -- backups --------------------------------------------------------------------------------------


class Backups(Scenario):
    """`backup create` in a loop into a local repository."""

    name = "backup"
    max_delay = 4.0
    points = 1500

    def prepare(self) -> None:
        self.repo_dir = self.work / "repo"
        with Engine(self.data) as engine:
            create(engine, "c", range(self.points), dim=32)
        Repository.open(str(self.repo_dir), create=True)
        self.acked: set[str] = set()
        self.verified: set[str] = set()

    def params(self) -> dict[str, Any]:
        return {"repo": str(self.repo_dir)}

    def absorb(self, acks: list[dict[str, Any]]) -> None:
        self.acked |= {a["id"] for a in acks}

    def check(self, target: EmbeddedTarget) -> Check:
        result = Check()
        repo = Repository.open(str(self.repo_dir))
        listed = set(repo.backup_ids())
        for backup_id in sorted(self.acked - listed):
            result.fail(f"acknowledged backup {backup_id} is not listed", lost=1)
        fresh = sorted(listed - self.verified)
        for backup_id in fresh:
            report = verify_backup(repo, backup_id)
            if not report["ok"]:
                result.fail(f"listed backup {backup_id} does not verify: {report['problems']}")
        if fresh:
            report = verify_backup(repo, fresh[-1], full=True)
            if not report["ok"]:
                result.fail(f"backup {fresh[-1]} fails a full verify: {report['problems']}")
        self.verified |= listed
        if repo.active_locks():  # the worker is dead: its lock must not block prune
            result.fail(f"a killed backup still counts as in progress: {repo.active_locks()}")
        leaked = target.client.list_snapshots("c")
        if leaked:  # whole (checked by the common checks) but left behind by the kill
            result.note("leaked_native_snapshots", len(leaked))
            for s in leaked:
                target.client.delete_snapshot("c", s.name)
        count = target.client.count("c").count
        if count != self.points:
            result.fail(f"the backed-up collection has {count} points, not {self.points}")
        repo.close()
        return result


class Restores(Scenario):
    """`backup restore` in a loop, native and portable in turn, under new names."""

    name = "restore"
    max_delay = 4.0
    points = 600

    def prepare(self) -> None:
        self.repo_dir = self.work / "repo"
        source = self.work / "source"
        repo = Repository.open(str(self.repo_dir), create=True)
        with EmbeddedTarget(source) as src:
            create(src.engine, "c", range(self.points), dim=16)
            self.backup_id = create_backup(src, repo, ["c"]).id
        shutil.rmtree(source)
        repo.close()
        self.data.mkdir(parents=True)
        self.acked: set[str] = set()
        self.maybe_deleted: set[str] = set()
        self.in_flight = 0

    def params(self) -> dict[str, Any]:
        return {"repo": str(self.repo_dir), "backup": self.backup_id, "start": self.in_flight}

    def absorb(self, acks: list[dict[str, Any]]) -> None:
        for a in acks:
            if "deleted" in a:
                self.acked.discard(a["deleted"])
                self.maybe_deleted.discard(a["deleted"])
                continue
            self.acked.add(a["name"])
            self.maybe_deleted = {f"r{int(a['step']) - 2}"} & self.acked
            self.in_flight = int(a["step"]) + 1

    def check(self, target: EmbeddedTarget) -> Check:
        result = Check()
        in_flight = f"r{self.in_flight}"
        names = set(target.collection_names())
        for name in sorted(self.acked):
            if name not in names:
                if name not in self.maybe_deleted:
                    result.fail(f"acknowledged restore {name} is gone", lost=self.points)
                continue
            count = len(all_ids(target, name))
            if count != self.points:
                result.fail(f"acknowledged restore {name} has {count} points", self.points - count)
        for name in sorted(names - self.acked):
            count = len(all_ids(target, name))
            if name != in_flight:
                result.fail(f"unexpected collection {name} ({count} points)")
            elif count != self.points:
                if worker.restore_format(self.in_flight) == "native":
                    result.fail(f"interrupted native restore left {name} with {count} points")
                else:  # documented: a portable import resumes when run again
                    result.note("partial_portable_restores_visible")
        self.acked = {n for n in self.acked if n in names}
        self.maybe_deleted &= self.acked
        repo = Repository.open(str(self.repo_dir))
        report = verify_backup(repo, self.backup_id)
        if not report["ok"]:
            result.fail(f"the restored backup no longer verifies: {report['problems']}")
        repo.close()
        return result


SCENARIOS: dict[str, type[Scenario]] = {
    cls.name: cls
    for cls in (Ingest, GrpcUpload, Aliases, Snapshots, Recovery, Deploy, Backups, Restores)
}

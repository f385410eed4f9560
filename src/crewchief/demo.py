"""The lesson, end to end on the embedded engine: inspect, switch an alias, snapshot.

`run_demo` returns a `DemoReport` of what it saw; the CLI narrates each phase
through the `say` callback.  Every claim the narration makes is checked here
and a failed check raises, so `crewchief demo` exits non-zero if any is false.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from qdrant_client import models

from crewchief.core.vectors import unnamed_vector
from crewchief.datasets import embedding_like, movie_payload
from crewchief.engine import Engine
from crewchief.errors import EngineFailure

ALIAS = "production_alias"
V1, V2 = "my_app_v1", "my_app_v2"
DIM = 384


@dataclass
class DemoReport:
    points: int = 0
    vector_size: int = 0
    status: str = ""
    alias_answers_from: list[str] = field(default_factory=list)
    snapshot_path: str = ""
    snapshot_checksum: str = ""
    restored_count: int = 0
    seconds: float = 0.0


def _check(ok: bool, what: str) -> None:
    if not ok:
        raise EngineFailure(f"Demo check failed: {what}")


def _top_ids(engine: Engine, name: str, vector: list[float]) -> list[object]:
    return [p.id for p in engine.query_points(name, query=vector, limit=5).points]


def _fill(engine: Engine, name: str, n: int, seed: int) -> None:
    vectors = embedding_like(n, DIM, seed=seed)
    engine.create_collection(
        name, vectors_config=models.VectorParams(size=DIM, distance=models.Distance.COSINE)
    )
    for start in range(0, n, 500):
        engine.upsert(
            name,
            [
                models.PointStruct(id=i, vector=vectors[i].tolist(), payload=movie_payload(i))
                for i in range(start, min(n, start + 500))
            ],
        )


def run_demo(data_dir: Path, n: int = 3000, say: Callable[[str], None] = print) -> DemoReport:
    started = time.monotonic()
    report = DemoReport()
    with Engine(data_dir) as engine:
        for name in (V1, V2, f"{V1}_restored"):
            engine.delete_collection(name)

        say(f"[bold]Phase 1 - Setup[/]: creating `{V1}` with {n} embedding-like movies ({DIM}-d)")
        _fill(engine, V1, n, seed=1)

        say("[bold]Phase 2 - Inspection[/]: what does the engine say about it?")
        info = engine.get_collection(V1)
        params = unnamed_vector(info.config)
        assert params is not None
        report.points, report.vector_size = info.points_count or 0, params.size
        report.status = info.status.value
        say(
            f"  points_count={info.points_count}  vector size={params.size}  "
            f"status={info.status.value}  segments={info.segments_count}  "
            f"indexed_vectors={info.indexed_vectors_count}"
        )
        _check(info.points_count == n, f"points_count {info.points_count} != {n}")

        say(f"[bold]Phase 3 - The alias switch[/]: the app only talks to `{ALIAS}`")
        engine.update_collection_aliases(
            [
                models.CreateAliasOperation(
                    create_alias=models.CreateAlias(collection_name=V1, alias_name=ALIAS)
                )
            ]
        )
        probe = embedding_like(1, DIM, seed=1)[0].tolist()
        same = _top_ids(engine, ALIAS, probe) == _top_ids(engine, V1, probe)
        say(f"  search via `{ALIAS}` == search on `{V1}`: {same}")
        _check(same, "alias search differs from v1 search")
        report.alias_answers_from.append(V1)

        say(f"  building `{V2}` with better embeddings while the app keeps using `{V1}`")
        _fill(engine, V2, n, seed=2)
        engine.update_collection_aliases(
            [
                models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=ALIAS)),
                models.CreateAliasOperation(
                    create_alias=models.CreateAlias(collection_name=V2, alias_name=ALIAS)
                ),
            ]
        )
        on_v2 = _top_ids(engine, ALIAS, probe) == _top_ids(engine, V2, probe)
        say(f"  switched atomically; `{ALIAS}` now answers from `{V2}`: {on_v2}")
        _check(on_v2, "alias does not answer from v2 after the switch")
        report.alias_answers_from.append(V2)

        engine.update_collection_aliases(
            [
                models.CreateAliasOperation(
                    create_alias=models.CreateAlias(collection_name=V1, alias_name=ALIAS)
                )
            ]
        )
        back = _top_ids(engine, ALIAS, probe) == _top_ids(engine, V1, probe)
        say(f"  rolled back in one call; `{ALIAS}` answers from `{V1}` again: {back}")
        _check(back, "alias does not answer from v1 after the rollback")
        report.alias_answers_from.append(V1)
        for change in engine.alias_history(ALIAS):
            say(f"    history: {change.time}  {change.alias}: {change.old} -> {change.new}")

        say(f"[bold]Phase 4 - Safety[/]: snapshot `{V1}` and restore it elsewhere")
        snap = engine.create_snapshot(V1)
        path = engine.snapshot_file(V1, snap.name)
        report.snapshot_path, report.snapshot_checksum = str(path), snap.checksum or ""
        say(f"  snapshot: {path} ({snap.size} bytes)\n  sha256:   {snap.checksum}")
        engine.recover_snapshot(f"{V1}_restored", str(path), checksum=snap.checksum)
        report.restored_count = engine.count(f"{V1}_restored").count
        say(f"  restored as `{V1}_restored`: {report.restored_count} points (expected {n})")
        _check(report.restored_count == n, "restored collection has the wrong count")
    report.seconds = time.monotonic() - started
    say(f"[green]Done in {report.seconds:.1f} s.[/] Data directory: {data_dir}")
    return report

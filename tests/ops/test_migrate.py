"""`crewchief migrate` between an embedded directory and a real `crewchief serve`:
config, payload indexes, points and aliases arrive; an interrupted run resumes;
--dry-run changes nothing; expected failures exit with their documented codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from qdrant_client import models
from typer.testing import CliRunner

from crewchief.cli.migrate import migrate
from crewchief.core.aliases import create_op
from crewchief.errors import Refused
from crewchief.ops import migrate as ops
from crewchief.target import EmbeddedTarget, ServeTarget, Target
from tests.helpers import f32, fill
from tests.server.serverproc import start_server


def make_source(tgt: Target) -> None:
    fill(tgt.client, "app_v1", n=120, dim=8, hnsw_config=models.HnswConfigDiff(m=8))
    fill(tgt.client, "app_v2", n=300, dim=8, seed=1, distance=models.Distance.DOT)
    tgt.client.create_payload_index("app_v2", "genre", models.PayloadSchemaType.KEYWORD)
    tgt.update_aliases([create_op("prod", "app_v2"), create_op("old", "app_v1")])


def top(tgt: Target, name: str) -> list[tuple[Any, float]]:
    q = [0.1 * i for i in range(8)]
    hits = tgt.client.query_points(name, q, limit=5, search_params=models.SearchParams(exact=True))
    return [(h.id, f32(h.score)) for h in hits.points]  # served: shortest float32 form


def test_migrate_with_aliases_from_embedded_to_served(tmp_path: Path) -> None:
    server = start_server(tmp_path / "served")
    try:
        with EmbeddedTarget(tmp_path / "src") as src, ServeTarget(server.url) as dst:
            make_source(src)
            fill(dst.client, "elsewhere", n=5, dim=8)
            dst.update_aliases([create_op("prod", "elsewhere")])
            with pytest.raises(Refused, match="points at `elsewhere`"):
                ops.plan_migrate(src, dst, ["prod"], with_aliases=True)  # an alias names one

            plan = ops.plan_migrate(src, dst, with_aliases=True, force=True)
            assert [(c.name, c.action, c.source_points) for c in plan.collections] == [
                ("app_v1", "create", 120),
                ("app_v2", "create", 300),
            ]
            assert [(a.alias, a.current, a.action) for a in plan.aliases] == [
                ("old", None, "create"),
                ("prod", "elsewhere", "move"),
            ]
            result = ops.execute(src, dst, plan, batch_size=100)
            assert result.copied == {"app_v1": 120, "app_v2": 300}
            assert result.indexes_created == {"app_v1": [], "app_v2": ["genre"]}
            assert dst.aliases() == {"prod": "app_v2", "old": "app_v1"}
            assert dst.alias_history("prod")[-1].new == "app_v2"
            for name in ("app_v1", "app_v2"):
                assert dst.client.count(name).count == src.client.count(name).count
                assert top(dst, name) == top(src, name)
            assert top(dst, "prod") == top(src, "app_v2")  # searches through the alias
            info = dst.client.get_collection("app_v2")
            assert info.config.params.vectors.distance == models.Distance.DOT  # type: ignore[union-attr]
            assert info.payload_schema["genre"].data_type == models.PayloadSchemaType.KEYWORD
            assert dst.client.get_collection("app_v1").config.hnsw_config.m == 8

            again = ops.plan_migrate(src, dst, with_aliases=True)  # nothing left to do
            assert {c.action for c in again.collections} == {"resume"}
            assert {a.action for a in again.aliases} == {"keep"}
            assert ops.execute(src, dst, again).copied == {"app_v1": 0, "app_v2": 0}
    finally:
        server.stop()


def test_migrate_resumes_after_an_interruption(tmp_path: Path) -> None:
    class Interrupted(Exception):
        pass

    def stop_midway(step: str, done: int, total: int) -> None:
        if step == "copy app_v2" and done >= 100:
            raise Interrupted

    server = start_server(tmp_path / "served")
    try:
        with ServeTarget(server.url) as src, EmbeddedTarget(tmp_path / "dst") as dst:
            make_source(src)
            plan = ops.plan_migrate(src, dst, ["app_v2"], with_aliases=True)
            with pytest.raises(Interrupted):
                ops.execute(src, dst, plan, batch_size=50, progress=stop_midway)
            assert dst.aliases() == {}  # aliases only once every point is there

            resumed = ops.plan_migrate(src, dst, ["app_v2"], with_aliases=True)
            assert resumed.collections[0].action == "resume"
            assert resumed.collections[0].destination_points == 100
            assert "100 of 300 points already there" in resumed.steps[0]
            result = ops.execute(src, dst, resumed, batch_size=50)
            assert (result.copied["app_v2"], result.skipped["app_v2"]) == (200, 100)
            assert dst.client.count("app_v2").count == 300
            assert dst.aliases() == {"prod": "app_v2"}
            assert top(dst, "app_v2") == top(src, "app_v2")
    finally:
        server.stop()


def cli_app() -> typer.Typer:
    """The real `crewchief` app once `migrate` is registered there; until then, the same
    command function in an app of its own."""
    from crewchief.cli.main import app

    if any(c.name == "migrate" for c in app.registered_commands):
        return app
    local = typer.Typer()
    local.command("migrate")(migrate)
    local.callback()(lambda: None)
    return local


def run(*args: str) -> Any:
    return CliRunner().invoke(cli_app(), ["migrate", *args])


def test_cli_dry_run_json_and_exit_codes(tmp_path: Path) -> None:
    src, dst = str(tmp_path / "src"), str(tmp_path / "dst")
    with EmbeddedTarget(src) as tgt:
        make_source(tgt)
    with EmbeddedTarget(dst) as tgt:
        fill(tgt.client, "other", n=3, dim=8)
        tgt.update_aliases([create_op("prod", "other")])

    dry = run("--from", src, "--to", dst, "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    plan = json.loads(dry.stdout)
    assert [c["name"] for c in plan["collections"]] == ["app_v1", "app_v2"]
    human = run("--from", src, "--to", dst, "--collections", "app_v1", "--dry-run")
    assert human.exit_code == 0 and "1. create `app_v1` (120 points)" in human.stdout
    with EmbeddedTarget(dst) as tgt:
        assert tgt.collection_names() == ["other"]  # the dry runs changed nothing

    assert run("--from", src, "--to", src).exit_code == 64
    assert run("--from", src, "--to", dst, "--collections", "nope").exit_code == 66
    refused = run("--from", src, "--to", dst, "--with-aliases")
    assert refused.exit_code == 69 and "--force" in refused.output

    done = run("--from", src, "--to", dst, "--collections", "prod,old", "--json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["copied"] == {"app_v2": 300, "app_v1": 120}
    again = run("--from", src, "--to", dst, "--with-aliases", "--force")
    assert again.exit_code == 0, again.output
    assert "resumed `app_v2`: copied 0 points (300 already there)" in again.stdout
    with EmbeddedTarget(dst) as tgt:
        assert tgt.aliases() == {"prod": "app_v2", "old": "app_v1"}

"""The command line as an operator uses it, on a data directory and on `crewchief serve`.

The commands run in this process (typer's runner: the same code path as the console
script, minus the interpreter start-up that makes ~70 subprocesses take minutes);
tests/cli/test_cli.py runs the console script itself for exit codes and stderr."""

from __future__ import annotations

import json
from typing import Any

from click.testing import Result
from typer.testing import CliRunner

from crewchief.cli.main import app
from crewchief.target import open_target
from tests.cli.clirun import TARGET_ENV
from tests.helpers import fill
from tests.ops.promtext import labels, parse


class Operator:
    """Runs commands against one target and checks their exit codes."""

    def __init__(self, spec: str) -> None:
        self.spec = spec

    def run(self, *args: str, code: int = 0) -> Result:
        env: dict[str, str | None] = {"COLUMNS": "250", **dict.fromkeys(TARGET_ENV)}
        done = CliRunner().invoke(app, [*args, "--target", self.spec], env=env)
        assert done.exit_code == code, f"{args}: {done.stdout}{done.stderr}{done.exception!r}"
        return done

    def json(self, *args: str, code: int = 0) -> Any:
        return json.loads(self.run(*args, "--json", code=code).stdout)

    def aliases(self) -> dict[str, str]:
        aliases: dict[str, str] = self.json("alias", "list")
        return aliases

    def collections(self) -> list[str]:
        with open_target(self.spec) as t:
            return t.collection_names()


def test_an_operator_session(spec: str) -> None:
    with open_target(spec) as t:
        for n in (1, 2):
            fill(t.client, f"app_v{n}", n=20, dim=4, seed=n)
    op = Operator(spec)
    assert op.aliases() == {}

    # alias set / list / history / rollback
    assert "switched" in op.run("alias", "set", "prod", "app_v1").stdout
    op.run("alias", "set", "prod", "app_v2", "--expect", "app_v1")
    op.run("alias", "set", "prod", "app_v1", "--expect", "app_v1", code=69)  # it moved
    table = op.run("alias", "list").stdout
    assert "prod" in table and "app_v2" in table
    history = op.json("alias", "history", "prod")
    assert [(h["old"], h["new"]) for h in history] == [(None, "app_v1"), ("app_v1", "app_v2")]
    assert "app_v1" in op.run("alias", "rollback", "prod").stdout
    assert op.aliases() == {"prod": "app_v1"}
    assert op.json("alias", "history", "prod")[-1]["new"] == "app_v1"

    # alias rename: the plan, then the change
    plan = {
        "alias": "prod",
        "new": "live",
        "collection": "app_v1",
        "reasons": ["rename `prod` -> `live` (points at `app_v1`)"],
    }
    assert op.json("alias", "rename", "prod", "live", "--dry-run") == {
        "plan": plan,
        "executed": False,
    }
    assert op.aliases() == {"prod": "app_v1"}
    renamed = op.json("alias", "rename", "prod", "live")
    assert renamed["executed"] and renamed["plan"] == plan
    assert [(c["alias"], c["op"]) for c in renamed["changes"]] == [
        ("prod", "rename"),
        ("live", "rename"),
    ]
    assert op.aliases() == {"live": "app_v1"}
    op.run("alias", "rename", "live", "app_v2", code=73)  # would hide a collection
    op.run("alias", "rename", "ghost", "other", code=66)

    # alias delete: the plan, then the change
    dry = op.run("alias", "delete", "live", "--dry-run").stdout
    assert dry.startswith("would: delete `live` (points at `app_v1`)")
    assert op.json("alias", "delete", "live", "--dry-run")["plan"]["current"] == "app_v1"
    assert op.aliases() == {"live": "app_v1"}
    assert "deleted" in op.run("alias", "delete", "live").stdout
    assert op.aliases() == {}
    op.run("alias", "delete", "live", code=66)
    assert sorted(op.collections()) == ["app_v1", "app_v2"]  # collections stay

    # a real deploy, keeping every version
    op.run("alias", "set", "live", "app_v1")
    op.run("alias", "set", "pinned", "app_v1")
    result = op.json("deploy", "live", "--to", "app_v3", "--keep", "3")
    assert result["switched"] and isinstance(result["switched_at"], float)
    assert (result["plan"]["source"], result["copied"], result["deleted"]) == ("app_v1", 20, [])
    assert [(g["name"], g["passed"]) for g in result["gates"]] == [("count_parity", True)]
    assert op.aliases() == {"live": "app_v3", "pinned": "app_v1"}

    # gc: the plan deletes only app_v2 (app_v1 is pinned, app_v3 is live and newest)
    dry_gc = op.json("gc", "--keep", "1", "--dry-run")
    assert list(dry_gc["plan"]["delete"]) == ["app_v2"] and dry_gc["deleted"] == []
    assert "alias pinned" in dry_gc["plan"]["keep"]["app_v1"]
    assert op.collections() == ["app_v1", "app_v2", "app_v3"]
    assert op.json("gc", "--keep", "1")["deleted"] == ["app_v2"]
    assert op.collections() == ["app_v1", "app_v3"]
    assert op.aliases() == {"live": "app_v3", "pinned": "app_v1"}

    # status and metrics
    report = op.json("status", code=1)
    assert report["exit_code"] == 1  # no snapshots yet: warnings
    alias_status = {i["subject"]: i["status"] for i in report["indicators"] if i["name"] == "alias"}
    assert alias_status == {"live": "green", "pinned": "green"}
    assert {i["subject"] for i in report["indicators"] if i["name"] == "snapshot_age"} == {
        "app_v1",
        "app_v3",
    }
    metrics = parse(op.run("metrics").stdout)
    assert metrics[("collection_points", labels(id="app_v3"))] == 20
    assert metrics[("crewchief_alias_target", labels(alias="live", collection="app_v3"))] == 1
    assert ("collection_points", labels(id="app_v2")) not in metrics


def test_a_failed_gate_prints_the_result_as_json(spec: str) -> None:
    with open_target(spec) as t:
        fill(t.client, "app_v1", n=20, dim=4)
        fill(t.client, "app_v2", n=21, dim=4)  # NEW exists with a point too many
    op = Operator(spec)
    op.run("alias", "set", "live", "app_v1")
    done = op.run("deploy", "live", "--to", "app_v2", "--json", code=69)
    result = json.loads(done.stdout)
    assert result["switched"] is False and result["switched_at"] is None
    assert result["switch"] is None and result["plan"]["new"] == "app_v2"
    assert result["gates"] == [
        {
            "name": "count_parity",
            "value": 21,
            "threshold": 20,
            "passed": False,
            "detail": "21 points in new vs 20 in source",
        }
    ]
    assert done.stderr.startswith("error:") and "count_parity" in done.stderr
    assert op.aliases() == {"live": "app_v1"}


def test_bad_deploy_options_are_input_errors(spec: str) -> None:
    with open_target(spec) as t:
        fill(t.client, "app_v1", n=20, dim=4)
    op = Operator(spec)
    op.run("alias", "set", "live", "app_v1")
    bad = op.run("deploy", "live", "--to", "app_v2", "--quantization", "product", code=64)
    assert "--quantization 'product'" in bad.stderr and "scalar, binary, none" in bad.stderr
    bad = op.run("deploy", "live", "--to", "app_v2", "--distance", "Cosinus", code=64)
    assert "Cosine, Euclid, Dot, Manhattan" in bad.stderr
    plan = op.json(
        "deploy",
        "live",
        "--to",
        "app_v2",
        "--dry-run",
        "--quantization",
        "binary",
        "--distance",
        "Dot",
        "--hnsw-ef-construct",
        "50",
    )
    assert plan["quantization"] == "binary" and plan["vectors"]["distance"] == "Dot"
    assert plan["hnsw"]["ef_construct"] == 50
    assert op.collections() == ["app_v1"]

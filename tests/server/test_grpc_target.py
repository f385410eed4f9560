"""The pit crew over gRPC: a `grpc://` target against the real `crewchief serve`.

`target.client` is `QdrantClient(prefer_grpc=True)`; snapshot files, /metrics and
crewchief's own routes go to REST on the same host.  The operator session of
tests/cli (aliases, deploy, gc, status, metrics), backups and migrate run through
it, and the server's gRPC counters show the traffic really went over gRPC.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest
from typer.testing import CliRunner

from crewchief.cli.main import app
from crewchief.errors import InvalidInput, NotFound, Refused
from crewchief.target import EmbeddedTarget, ServeTarget, as_crewchief_error, open_target
from crewchief.target.endpoint import parse_endpoint
from tests.cli.clirun import TARGET_ENV
from tests.cli.test_cli_kinds import test_an_operator_session as operator_session
from tests.helpers import fill
from tests.server.serverproc import ServerProcess, start_server


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServerProcess]:
    server = start_server(tmp_path / "data")
    yield server
    assert server.stop() == 0, server.stderr


def grpc_spec(server: ServerProcess) -> str:
    return f"grpc://127.0.0.1:{server.grpc_port}?rest_port={server.port}"


def grpc_calls(server: ServerProcess, endpoint: str) -> float:
    text = httpx.get(f"{server.url}/metrics").text
    total = 0.0
    for line in text.splitlines():
        if line.startswith("grpc_responses_total{") and f'endpoint="{endpoint}"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def run(*args: str, code: int = 0) -> str:
    env: dict[str, str | None] = {"COLUMNS": "250", **dict.fromkeys(TARGET_ENV)}
    done = CliRunner().invoke(app, list(args), env=env)
    assert done.exit_code == code, f"{args}: {done.stdout}{done.stderr}{done.exception!r}"
    return done.stdout


def test_endpoints() -> None:
    e = parse_endpoint("grpc://db.internal:6334")
    assert (e.rest_url, e.grpc_port) == ("http://db.internal:6333", 6334)
    e = parse_endpoint("grpc://db.internal")
    assert (e.rest_url, e.grpc_port) == ("http://db.internal:6333", 6334)
    e = parse_endpoint("grpc://127.0.0.1:41518?rest_port=41000")
    assert (e.rest_url, e.grpc_port) == ("http://127.0.0.1:41000", 41518)
    e = parse_endpoint("grpcs://[::1]:7000")
    assert (e.rest_url, e.grpc_port, e.https) == ("https://[::1]:6999", 7000, True)
    assert parse_endpoint("http://h:6333").grpc_port is None
    for bad in ("grpc://h:6334?rest=1", "grpc://h:6334?rest_port=x", "grpc://:6334"):
        with pytest.raises(InvalidInput):
            parse_endpoint(bad)


def test_prefer_grpc_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREWCHIEF_PREFER_GRPC", "1")
    assert parse_endpoint("http://h:6333").grpc_port == 6334
    monkeypatch.setenv("CREWCHIEF_GRPC_PORT", "7334")
    assert parse_endpoint("http://h:6333").grpc_port == 7334


def test_a_grpc_target_speaks_grpc(served: ServerProcess) -> None:
    with open_target(grpc_spec(served)) as target:
        assert isinstance(target, ServeTarget)
        assert target.location == grpc_spec(served)
        before = grpc_calls(served, "/qdrant.Collections/List")
        assert target.collection_names() == []
        assert grpc_calls(served, "/qdrant.Collections/List") == before + 1
        # a refusal over gRPC is the typed error its REST twin gives
        with pytest.raises(grpc.RpcError) as info:
            target.client.get_collection("nope")
        assert isinstance(as_crewchief_error(info.value), NotFound)


def test_the_environment_switches_an_http_target_to_grpc(
    served: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CREWCHIEF_PREFER_GRPC", "1")
    monkeypatch.setenv("CREWCHIEF_GRPC_PORT", str(served.grpc_port))
    before = grpc_calls(served, "/qdrant.Collections/List")
    with open_target(served.url) as target:
        target.collection_names()
    assert grpc_calls(served, "/qdrant.Collections/List") == before + 1


def test_an_unreachable_grpc_port_is_a_typed_error(served: ServerProcess) -> None:
    spec = f"grpc://127.0.0.1:1?rest_port={served.port}"
    with open_target(spec) as target, pytest.raises(grpc.RpcError) as info:
        target.collection_names()
    error = as_crewchief_error(info.value)
    assert error is not None and error.exit_code == 69 and "gRPC" in error.message


def test_the_operator_session_over_grpc(served: ServerProcess) -> None:
    """aliases (set, CAS, history, rollback, rename, delete), deploy, gc, status, metrics"""
    operator_session(grpc_spec(served))
    assert grpc_calls(served, "/qdrant.Points/Upsert") > 0  # deploy copied over gRPC
    assert grpc_calls(served, "/qdrant.Collections/Get") > 0  # status read over gRPC


def test_status_and_alias_over_grpc(served: ServerProcess) -> None:
    spec = grpc_spec(served)
    with open_target(spec) as target:
        fill(target.client, "films_v1", n=30, dim=8)  # type: ignore[arg-type]
    assert "switched" in run("alias", "set", "films", "films_v1", "--target", spec)
    run("alias", "set", "films", "films_v1", "--expect", "ghost", "--target", spec, code=69)
    report = json.loads(run("status", "--json", "--target", spec, code=1))
    assert report["location"] == spec
    assert {i["subject"] for i in report["indicators"] if i["name"] == "alias"} == {"films"}
    with open_target(served.url) as rest:  # the same server, seen over REST
        assert rest.aliases() == {"films": "films_v1"}


def test_backup_and_restore_over_grpc(served: ServerProcess, tmp_path: Path) -> None:
    spec, repo = grpc_spec(served), str(tmp_path / "repo")
    with open_target(spec) as target:
        fill(target.client, "docs", n=120, dim=8)  # type: ignore[arg-type]
        expected = target.client.query_points("docs", query=[0.1] * 8, limit=5)
    created = json.loads(
        run("backup", "create", "docs", "--repo", repo, "--target", spec, "--json")
    )
    backup_id = created["id"]
    with open_target(spec) as target:
        target.client.delete_collection("docs")
    restored = json.loads(
        run("backup", "restore", backup_id, "--repo", repo, "--to", spec, "--json")
    )
    assert restored == {"docs": "docs"}
    with open_target(spec) as target:
        assert target.client.count("docs").count == 120
        assert target.client.query_points("docs", query=[0.1] * 8, limit=5) == expected


def test_migrate_to_and_from_grpc(served: ServerProcess, tmp_path: Path) -> None:
    spec = grpc_spec(served)
    with EmbeddedTarget(tmp_path / "local") as local:
        fill(local.engine, "movies", n=80, dim=8)
    run("migrate", "--from", str(tmp_path / "local"), "--to", spec)
    with open_target(spec) as target:
        assert target.client.count("movies").count == 80
    run("migrate", "--from", spec, "--to", str(tmp_path / "back"))
    with EmbeddedTarget(tmp_path / "back") as back:
        assert back.client.count("movies").count == 80


@pytest.mark.filterwarnings("ignore:Api key is used with an insecure connection")
def test_keys_over_a_grpc_target(tmp_path: Path) -> None:
    env = {"CREWCHIEF_API_KEY": "full", "CREWCHIEF_READ_ONLY_API_KEY": "read"}
    server = start_server(tmp_path / "data", env=env)
    spec = grpc_spec(server)
    try:
        with open_target(spec, api_key="full") as writer:
            fill(writer.client, "keyed", n=10, dim=4)  # type: ignore[arg-type]
        with open_target(spec, api_key="read") as reader:
            assert reader.client.count("keyed").count == 10
            with pytest.raises(grpc.RpcError) as info:
                reader.client.delete_collection("keyed")
        error = as_crewchief_error(info.value)
        assert isinstance(error, Refused) and error.http_status == 403
        assert "--api-key" in (error.hint or "")
        run("alias", "set", "k", "keyed", "--target", spec, "--api-key", "read", code=69)
    finally:
        server.stop()

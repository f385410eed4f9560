"""open_target decides the kind of target once, when connecting."""

from __future__ import annotations

from pathlib import Path

from crewchief import Engine
from crewchief.target import EmbeddedTarget, ServeTarget, open_target
from tests.helpers import fill
from tests.server.serverproc import start_server


def test_a_url_or_a_served_directory_opens_as_crewchief_serve(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data")
    try:
        for spec in (server.url, str(tmp_path / "data")):
            with open_target(spec) as target:
                assert isinstance(target, ServeTarget)
                assert (target.kind, target.native_kind) == ("remote", "crewchief-edge")
                assert target.location == server.url.rstrip("/")
    finally:
        server.stop()


def test_a_directory_opens_embedded(tmp_path: Path) -> None:
    with open_target(str(tmp_path / "data"), create=True) as target:
        assert isinstance(target, EmbeddedTarget)
        assert (target.kind, target.native_kind) == ("embedded", "crewchief-edge")


def test_a_target_around_an_engine_leaves_it_open(tmp_path: Path) -> None:
    with Engine(tmp_path / "data") as engine:
        fill(engine, "docs", n=5, dim=4)
        with EmbeddedTarget.around(engine) as target:
            assert target.location == str(engine.path)
        assert engine.count("docs").count == 5  # its collections are still open

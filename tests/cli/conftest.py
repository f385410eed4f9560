"""Every command-line test that takes `spec` runs against both kinds of target: an
embedded data directory and the real `crewchief serve` in a subprocess."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from crewchief.target import EmbeddedTarget
from tests.server.serverproc import start_server


@pytest.fixture(params=["embedded", "served"])
def spec(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """What an operator passes to --target: a data directory, or `crewchief serve`'s URL.
    (Open it with `crewchief.target.open_target(spec)` to set things up; close it before
    running a command on a directory, which the command opens itself.)"""
    if request.param == "embedded":
        EmbeddedTarget(tmp_path / "data").close()
        yield str(tmp_path / "data")
    else:
        server = start_server(tmp_path / "data")
        yield server.url
        server.stop()

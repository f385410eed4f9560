"""Every ops test runs against both kinds of target: an embedded data directory and
the real `crewchief serve` in a subprocess, reached through qdrant-client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from crewchief.target import EmbeddedTarget, ServeTarget, Target
from tests.server.serverproc import start_server


@pytest.fixture(params=["embedded", "served"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    if request.param == "embedded":
        tgt: Target = EmbeddedTarget(tmp_path / "data")
        yield tgt
        tgt.close()
    else:
        server = start_server(tmp_path / "data")
        tgt = ServeTarget(server.url)
        yield tgt
        tgt.close()
        server.stop()

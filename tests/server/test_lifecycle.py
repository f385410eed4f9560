"""The server process: `crewchief serve`, port 0, shutdown, locking, warnings."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import httpx
import pytest
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import UnexpectedResponse

from crewchief.server.runner import local_url
from tests.server.conftest import qdrant
from tests.server.data import make_collection
from tests.server.serverproc import ServerProcess, start_server

CLI = [sys.executable, "-m", "crewchief.cli.main", "serve"]
CONSOLE_SCRIPT = [str(Path(sys.executable).with_name("crewchief")), "serve"]
VECTORS = models.VectorParams(size=4, distance=models.Distance.COSINE)


def refused_with(client: QdrantClient, name: str) -> int | None:
    """The HTTP status of a refused create_collection."""
    with pytest.raises(UnexpectedResponse) as info:
        client.create_collection(name, vectors_config=VECTORS)
    return info.value.status_code


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_cli_serve_port_0_and_graceful_shutdown(tmp_path: Path, sig: int) -> None:
    data = tmp_path / "data"
    first = ServerProcess(data, command=CLI)
    url = first.wait_listening()
    assert url.startswith("http://127.0.0.1:") and first.port > 0
    c = qdrant(url, check=False)
    make_collection(c, "kept", n=25, dim=4)
    # background work (wait=false) still finishes before the engine closes
    assert httpx.post(f"{url}/collections/kept/snapshots?wait=false").status_code == 202
    c.close()
    assert first.stop(sig) == 0, first.stderr
    assert "Traceback" not in first.stderr
    assert (data / ".lock").read_text() == ""  # the engine let go of the directory

    second = start_server(data)
    c = qdrant(second.url, check=False)
    assert c.count("kept").count == 25
    assert len(c.list_snapshots("kept")) == 1
    c.close()
    assert second.stop() == 0


def test_second_server_on_the_same_data_is_refused(server: ServerProcess) -> None:
    other = ServerProcess(server.data)
    code = other.wait_exit()
    assert code == 75
    assert server.url in other.stderr  # it says who owns the directory


def test_busy_port_is_a_clean_error(server: ServerProcess, tmp_path: Path) -> None:
    proc = ServerProcess(tmp_path / "d", "--port", str(server.port))
    # the last --port wins with argparse, so this asks for the busy port
    assert proc.wait_exit() == 64
    assert "Cannot listen" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_warns_when_exposed_without_a_key(tmp_path: Path, server: ServerProcess) -> None:
    exposed = start_server(tmp_path / "a", "--host", "0.0.0.0")
    exposed.stop()
    assert "WITHOUT an API key" in exposed.stderr
    keyed = start_server(tmp_path / "b", "--host", "0.0.0.0", env={"CREWCHIEF_API_KEY": "k"})
    keyed.stop()
    assert "WITHOUT an API key" not in keyed.stderr
    assert "WARNING" not in server.stderr  # loopback, no key: nothing to warn about


def test_a_read_only_key_alone_closes_the_server(tmp_path: Path) -> None:
    """Nobody may write then, so there is nothing to warn about."""
    env = {"CREWCHIEF_READ_ONLY_API_KEY": "r"}
    proc = start_server(tmp_path / "d", "--host", "0.0.0.0", env=env)
    url = local_url(proc.url)
    try:
        assert refused_with(qdrant(url, check=False), "c") == 401
        reader = qdrant(url, api_key="r", check=False)
        assert refused_with(reader, "c") == 403
        assert reader.get_collections().collections == []
    finally:
        proc.stop()
    assert "WARNING" not in proc.stderr


def test_console_script_takes_keys_from_the_environment(tmp_path: Path) -> None:
    env = {"CREWCHIEF_API_KEY": "full", "CREWCHIEF_READ_ONLY_API_KEY": "read"}
    proc = ServerProcess(tmp_path / "data", env=env, command=CONSOLE_SCRIPT)
    try:
        url = proc.wait_listening()
        assert refused_with(qdrant(url, check=False), "c") == 401
        assert refused_with(qdrant(url, api_key="wrong", check=False), "c") == 401
        qdrant(url, api_key="full", check=False).create_collection("c", vectors_config=VECTORS)
        reader = qdrant(url, api_key="read", check=False)
        assert [c.name for c in reader.get_collections().collections] == ["c"]
        assert refused_with(reader, "d") == 403
    finally:
        assert proc.stop() == 0, proc.stderr

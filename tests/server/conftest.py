"""Fixtures: the real server in a subprocess, driven by the real qdrant-client.

One open server and one server with API keys are shared by the whole session
(starting one takes about a second); every test works in collections of its
own, named after the test, so tests do not see each other's data.
"""

from __future__ import annotations

import re
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from qdrant_client import QdrantClient

from tests.server.serverproc import ServerProcess, start_server

MAX_UPLOAD_BYTES = 4 * 1024 * 1024
FULL_KEY = "full-key-for-tests"
READ_ONLY_KEY = "read-only-key-for-tests"


def qdrant(url: str, api_key: str | None = None, check: bool = True) -> QdrantClient:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Api key is used with an insecure connection")
        return QdrantClient(
            url=url, api_key=api_key, prefer_grpc=False, timeout=60, check_compatibility=check
        )


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data = tmp_path_factory.mktemp("serve") / "data"
    proc = start_server(data, "--max-upload-bytes", str(MAX_UPLOAD_BYTES))
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data = tmp_path_factory.mktemp("serve-auth") / "data"
    env = {
        "CREWCHIEF_API_KEY": FULL_KEY,
        "CREWCHIEF_READ_ONLY_API_KEY": READ_ONLY_KEY,
        "CREWCHIEF_JWT_RBAC": "true",  # the plain keys work the same; tests/server/test_jwt.py
    }
    proc = start_server(data, env=env)
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def client(server: ServerProcess) -> Iterator[QdrantClient]:
    c = qdrant(server.url)
    yield c
    c.close()


@pytest.fixture(scope="session")
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as c:
        yield c


@pytest.fixture
def name(request: pytest.FixtureRequest) -> str:
    """A collection name of this test's own."""
    base = re.sub(r"[^A-Za-z0-9_]+", "_", request.node.name)[:60]
    return f"{base}_{uuid.uuid4().hex[:6]}"


@pytest.fixture
def data_dir(server: ServerProcess) -> Path:
    return server.data

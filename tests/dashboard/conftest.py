"""Fixtures: one real `crewchief serve` with keys and a backup repository, some data,
and the standalone `crewchief dashboard` in a subprocess.

The server samples its history every half second (instead of 5 s) so charts
have points within a test's time.  Every test that changes aliases makes an
alias of its own, so tests do not depend on each other's order.  The pages
show the data directory and the repository, so both have neutral names
(`/tmp/crewchief-XXXX/crewchief-data` and `.../backups`, not pytest's paths):
the screenshot in docs/img is taken of them.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from qdrant_client import QdrantClient, models

from crewchief.backup.schedule import Job, Scheduler, run_action
from crewchief.datasets import movie_payload
from crewchief.engine.builder import DELAY_ENV
from tests.dashboard.procs import DashboardProcess
from tests.server.serverproc import ServerProcess, start_server

FULL_KEY = "dashboard-full-key"
READ_ONLY_KEY = "dashboard-read-only-key"
KEY_ENV = "CREWCHIEF_DASHBOARD_TEST_KEY"
V1, V2 = "shop_v1", "shop_v2"
NIGHTLY = {"create": "0 3 * * *", "verify": "0 5 * * 0"}  # the scheduled job's cron expressions


def qdrant(url: str, api_key: str | None = FULL_KEY) -> QdrantClient:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Api key is used with an insecure connection")
        return QdrantClient(url=url, api_key=api_key, timeout=60, check_compatibility=False)


def fill(client: QdrantClient, name: str, n: int, dim: int = 16, seed: int = 0) -> None:
    client.create_collection(
        name, vectors_config=models.VectorParams(size=dim, distance=models.Distance.COSINE)
    )
    vectors = np.random.default_rng(seed).random((n, dim)).tolist()
    client.upsert(
        name,
        models.Batch(
            ids=list(range(n)), vectors=vectors, payloads=[movie_payload(i) for i in range(n)]
        ),
    )


def point_alias(client: QdrantClient, alias: str, collection: str) -> None:
    client.update_collection_aliases(
        [
            models.CreateAliasOperation(
                create_alias=models.CreateAlias(collection_name=collection, alias_name=alias)
            )
        ]
    )


def aliases_of(client: QdrantClient) -> dict[str, str]:
    return {a.alias_name: a.collection_name for a in client.get_aliases().aliases}


@pytest.fixture(scope="session")
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="crewchief-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def repo_dir(workdir: Path) -> Path:
    return workdir / "backups"


@pytest.fixture(scope="session")
def board(workdir: Path, repo_dir: Path) -> Iterator[ServerProcess]:
    data = workdir / "crewchief-data"
    env = {
        "CREWCHIEF_API_KEY": FULL_KEY,
        "CREWCHIEF_READ_ONLY_API_KEY": READ_ONLY_KEY,
        "CREWCHIEF_DASHBOARD_SAMPLE_SECONDS": "0.5",
        # a build of a few thousand points takes well under the overview's 2 s poll on an
        # idle machine; hold every build so that its yellow phase is always seen
        DELAY_ENV: "5",
    }
    proc = start_server(data, "--repo", str(repo_dir), env=env)
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def client(board: ServerProcess) -> Iterator[QdrantClient]:
    c = qdrant(board.url)
    yield c
    c.close()


@pytest.fixture(scope="session")
def world(board: ServerProcess, client: QdrantClient, repo_dir: Path) -> dict[str, str]:
    """Two versions of a collection, an alias, a snapshot, and a scheduled backup + verify:
    the job's actions run once, then its scheduler starts and records the next runs."""
    fill(client, V1, 200, seed=1)
    fill(client, V2, 300, seed=2)
    point_alias(client, "shop", V1)
    client.create_snapshot(V1)
    job = Job(
        name="nightly",
        target=board.url,
        repo=str(repo_dir),
        api_key_env=KEY_ENV,
        create=NIGHTLY["create"],
        verify=NIGHTLY["verify"],
    )
    with pytest.MonkeyPatch.context() as mp, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Api key is used with an insecure connection")
        mp.setenv(KEY_ENV, FULL_KEY)
        for action in ("create", "verify"):
            outcome = run_action(job, action)
            assert outcome["ok"], outcome
    Scheduler([job]).publish()
    return {"v1": V1, "v2": V2, "alias": "shop"}


@pytest.fixture
def alias_name(client: QdrantClient) -> Iterator[str]:
    """An alias of this test's own, removed afterwards (the overview stays readable)."""
    name = f"alias_{uuid.uuid4().hex[:8]}"
    yield name
    if name in aliases_of(client):
        client.update_collection_aliases(
            [models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=name))]
        )


def api(url: str, key: str | None) -> httpx.Client:
    headers = {"api-key": key} if key else {}
    return httpx.Client(base_url=url + "/dashboard/api/", headers=headers, timeout=60)


@pytest.fixture
def full(board: ServerProcess, world: dict[str, str]) -> Iterator[httpx.Client]:
    with api(board.url, FULL_KEY) as c:
        yield c


@pytest.fixture
def read_only(board: ServerProcess, world: dict[str, str]) -> Iterator[httpx.Client]:
    with api(board.url, READ_ONLY_KEY) as c:
        yield c


def start_standalone(board: ServerProcess, key: str, repo_dir: Path) -> DashboardProcess:
    """`crewchief dashboard` against the server as a remote target, with `key`."""
    env = {**os.environ, "CREWCHIEF_DASHBOARD_SAMPLE_SECONDS": "0.5"}
    args = ["--target", board.url, "--api-key", key, "--repo", str(repo_dir)]
    return DashboardProcess(*args, env=env)


@pytest.fixture(scope="session")
def hybrid(client: QdrantClient) -> str:
    """A collection with every vector kind (tests.vector_kinds) and one of sparse only."""
    from tests.vector_kinds import make_kinds

    make_kinds(client, "hybrid")
    client.create_collection(
        "words", vectors_config={}, sparse_vectors_config={"w": models.SparseVectorParams()}
    )
    sv = models.SparseVector(indices=[1, 5], values=[0.5, 1.0])
    client.upsert("words", [models.PointStruct(id=i, vector={"w": sv}) for i in range(4)])
    return "hybrid"

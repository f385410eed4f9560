"""Every query kind through the real qdrant-client against `crewchief serve` (REST), compared
with qdrant-client's local mode on the same data; `/points/query/batch` with every kind;
Qdrant's status codes and messages for what it refuses; every QueryRequest field either
changes the answer or is refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import UnexpectedResponse

from tests.engine import query_cases as qc
from tests.server.conftest import qdrant
from tests.server.serverproc import ServerProcess, start_server

pytestmark = pytest.mark.filterwarnings("ignore:Local mode performs exact:UserWarning")
M = models


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = start_server(Path(tmp_path_factory.mktemp("qk")) / "data")
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def remote(srv: ServerProcess) -> Iterator[QdrantClient]:
    c = qdrant(srv.url)
    qc.load(c)
    yield c
    c.close()


@pytest.fixture(scope="module")
def raw(srv: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=srv.url, timeout=60) as c:
        yield c


@pytest.fixture(scope="module")
def local() -> QdrantClient:
    return qc.local()


@pytest.mark.parametrize(("case", "kwargs"), qc.CASES, ids=[c for c, _ in qc.CASES])
def test_kind_as_local_mode(
    local: QdrantClient, remote: QdrantClient, case: str, kwargs: dict[str, Any]
) -> None:
    want = local.query_points(qc.NAME, **kwargs).points
    got = remote.query_points(qc.NAME, **kwargs).points
    assert want and qc.same_answer(want, got), (case, [(p.id, p.score) for p in got])


@pytest.mark.parametrize(("case", "kwargs"), qc.UUID_CASES, ids=[c for c, _ in qc.UUID_CASES])
def test_uuid_kind_as_local_mode(
    local: QdrantClient, remote: QdrantClient, case: str, kwargs: dict[str, Any]
) -> None:
    want = local.query_points(qc.UUIDS, **kwargs).points
    assert qc.same_answer(want, remote.query_points(qc.UUIDS, **kwargs).points), case


def _request(kw: dict[str, Any]) -> models.QueryRequest:
    names = {"query_filter": "filter", "search_params": "params", "with_vectors": "with_vector"}
    return models.QueryRequest(**{names.get(k, k): v for k, v in kw.items()})


def test_batch_of_every_kind_as_local_mode(local: QdrantClient, remote: QdrantClient) -> None:
    requests = [_request(kw) for _, kw in qc.CASES]
    want = local.query_batch_points(qc.NAME, requests)
    got = remote.query_batch_points(qc.NAME, requests)
    assert len(got) == len(want) == len(requests)
    for (case, _), w, g in zip(qc.CASES, want, got, strict=True):
        assert qc.same_answer(w.points, g.points), case


def test_json_forms(local: QdrantClient, raw: httpx.Client) -> None:
    """REST's own forms: a prefetch object (not a list), `{"nearest": v, "mmr": ...}`, an
    order_by string, `with_vectors` as the alias of with_vector."""
    path = f"/collections/{qc.NAME}/points/query"
    mmr = {"nearest": qc.Q8, "mmr": {"diversity": 0.8, "candidates_limit": 30}}
    body = {"query": mmr, "using": "dense", "limit": 6}
    got = raw.post(path, json=body).json()["result"]["points"]
    want = local.query_points(
        qc.NAME,
        query=M.NearestQuery(nearest=qc.Q8, mmr=M.Mmr(diversity=0.8, candidates_limit=30)),
        using="dense",
        limit=6,
        with_payload=False,
    ).points
    assert [p["id"] for p in got] == [p.id for p in want]
    one = {"query": {"fusion": "rrf"}, "prefetch": {"query": qc.Q8, "using": "dense"}}
    assert raw.post(path, json=one).status_code == 200
    order = raw.post(path, json={"query": {"order_by": "i"}, "limit": 3}).json()["result"]
    assert [p["id"] for p in order["points"]] == [0, 1, 2]
    assert [p["order_value"] for p in order["points"]] == [0, 1, 2]
    vec = raw.post(path, json={"query": 4, "using": "dense", "limit": 1, "with_vectors": True})
    assert set(vec.json()["result"]["points"][0]["vector"]) >= {"dense"}


def test_discover_with_null_context_is_a_rescored_nearest(raw: httpx.Client) -> None:
    """REST's `"context": null` (Qdrant's `Option`): a discover of the target alone ranks as
    the nearest query does, with discover's own scores."""
    path = f"/collections/{qc.NAME}/points/query"
    near = raw.post(path, json={"query": qc.Q8, "using": "dense", "limit": 8})
    body = {"query": {"discover": {"target": qc.Q8, "context": None}}, "using": "dense"}
    disc = raw.post(path, json={**body, "limit": 8, "offset": None})
    assert near.status_code == disc.status_code == 200, disc.text
    near_points, disc_points = near.json()["result"]["points"], disc.json()["result"]["points"]
    assert [p["id"] for p in disc_points] == [p["id"] for p in near_points]
    assert all(d["score"] != n["score"] for d, n in zip(disc_points, near_points, strict=True))
    ctx = raw.post(path, json={"query": {"context": None}, "using": "dense", "limit": 3})
    assert ctx.status_code == 200, ctx.text
    dup = {"query": qc.Q8, "using": "dense", "with_vector": True, "with_vectors": True}
    both = raw.post(path, json=dup)
    assert both.status_code == 400, both.text
    assert "duplicate field `with_vector`" in both.json()["status"]["error"]


def _feedback(items: list[dict[str, Any]], b: float = 1.0) -> dict[str, Any]:
    return {"target": qc.Q8, "feedback": items, "strategy": {"naive": {"a": 1, "b": b, "c": 1}}}


REFUSALS: list[tuple[str, dict[str, Any], int, str]] = [
    (
        "unknown-using",
        {"query": qc.Q8, "using": "nope"},
        400,
        "Wrong input: Not existing vector name error: nope",
    ),
    (
        "sparse-for-dense",
        {"query": qc.QS.model_dump(), "using": "dense"},
        400,
        "Conversion between sparse and regular",
    ),
    (
        "missing-id",
        {"query": 999, "using": "dense"},
        404,
        "Not found: No point with id 999 found",
    ),
    (
        "lookup-missing",
        {"query": 3, "using": "dense", "lookup_from": {"collection": "nowhere"}},
        404,
        "Not found: Collection nowhere not found",
    ),
    (
        "lookup-missing-no-ids",  # checked whether or not a stage names a point
        {"query": qc.Q8, "using": "dense", "lookup_from": {"collection": "nowhere"}},
        404,
        "Not found: Collection nowhere not found",
    ),
    (
        "missing-id-before-fusion-using",  # points are read before a stage's rules
        {
            "query": {"fusion": "rrf"},
            "using": "dense",
            "prefetch": [{"query": {"recommend": {"positive": [1, 997]}}, "using": "dense"}],
        },
        404,
        "Not found: No point with id 997 found",
    ),
    (
        "lookup-unknown-vector",  # refused once a point is read from the lookup collection
        {
            "query": {"recommend": {"positive": [1]}},
            "using": "dense",
            "lookup_from": {"collection": qc.OTHER, "vector": "nope"},
        },
        400,
        "Wrong input: Not existing vector name error: nope",
    ),
    (
        "lookup-unknown-vector-missing-point",  # ... and the point's 404 when none is read
        {
            "query": {"recommend": {"positive": [995]}},
            "using": "dense",
            "lookup_from": {"collection": qc.OTHER, "vector": "nope"},
        },
        404,
        "Not found: No point with id 995 found",
    ),
    (
        "empty-example",  # no length rule on a query's vector: the collection's 400
        {"query": {"recommend": {"positive": [[]]}}, "using": "dense"},
        400,
        "Wrong input: Vector dimension error: expected dim: 8, got 0",
    ),
    (
        "limit-0",  # Qdrant's path names the flattened `internal` request
        {"query": qc.Q8, "using": "dense", "limit": 0},
        422,
        "Validation error in JSON body: [internal.limit: value 0 invalid, must be 1 or larger]",
    ),
    (
        "feedback-b",
        {"query": {"relevance_feedback": _feedback([{"example": 1, "score": 1}], b=-1)}},
        422,
        "Validation error in JSON body: [internal.query.relevance_feedback.strategy.naive.b: "
        "value -1.0 invalid, must be 0.0 or larger]",
    ),
    (
        "feedback-empty",
        {"query": {"relevance_feedback": _feedback([])}, "using": "dense"},
        422,
        "internal.query.relevance_feedback.__all__: feedback elements must be non-empty",
    ),
    (
        "prefetch-limit-0",
        {"query": {"fusion": "rrf"}, "prefetch": [{"query": qc.Q8, "using": "dense", "limit": 0}]},
        422,
        "Validation error in JSON body: [internal.prefetch[0].limit: value 0 invalid, "
        "must be 1 or larger]",
    ),
    (
        "prefetch-no-query",
        {"prefetch": [{"query": qc.Q8, "using": "dense"}]},
        400,
        "Bad request: A query is needed to merge the prefetches",
    ),
    (
        "fusion-using",
        {
            "query": {"fusion": "rrf"},
            "using": "dense",
            "prefetch": [{"query": qc.Q8, "using": "dense"}],
        },
        400,
        "Fusion queries cannot be combined",
    ),
    (
        "threshold-order-by",
        {"query": {"order_by": "rank"}, "score_threshold": 1},
        400,
        "Can't use score_threshold with an order_by query",
    ),
    (
        "order-by-no-index",
        {"query": {"order_by": "tag"}},
        400,
        "Bad request: No range index for `order_by` key",
    ),
    (
        "mmr-diversity",
        {"query": {"nearest": qc.Q8, "mmr": {"diversity": 2}}, "using": "dense"},
        422,
        "value 2.0 invalid",
    ),
    (
        "shard-key",
        {"query": qc.Q8, "using": "dense", "shard_key": "a"},
        400,
        "Bad request: Shard key a not found",
    ),
    (
        "reco-empty",
        {"query": {"recommend": {"positive": [], "strategy": "best_score"}}, "using": "dense"},
        422,
        "At least one positive or negative",
    ),
]


@pytest.mark.parametrize(("case", "body", "status", "text"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_refusals(
    remote: QdrantClient, raw: httpx.Client, case: str, body: dict[str, Any], status: int, text: str
) -> None:
    r = raw.post(f"/collections/{qc.NAME}/points/query", json=body)
    assert r.status_code == status, r.text
    assert text in r.json()["status"]["error"], r.text
    batch = raw.post(f"/collections/{qc.NAME}/points/query/batch", json={"searches": [body]})
    assert batch.status_code == status, batch.text


def test_nan_is_refused_never_an_empty_answer(remote: QdrantClient, raw: httpx.Client) -> None:
    nan = b'{"query": [NaN, 1, 1, 1, 1, 1, 1, 1], "using": "dense"}'
    r = raw.post(
        f"/collections/{qc.NAME}/points/query",
        content=nan,
        headers={"content-type": "application/json"},
    )
    assert r.status_code in (400, 422), r.text
    with pytest.raises(UnexpectedResponse) as info:
        remote.query_points(qc.NAME, query=[float("nan")] + [1.0] * 7, using="dense")
    assert info.value.status_code in (400, 422)


def test_every_query_request_field_changes_the_answer_or_is_refused(raw: httpx.Client) -> None:
    path = f"/collections/{qc.NAME}/points/query"
    base: dict[str, Any] = {"query": qc.Q8, "using": "dense", "limit": 5}
    changes: dict[str, dict[str, Any]] = {
        "prefetch": {"prefetch": {"query": qc.QS.model_dump(), "using": "plain", "limit": 6}},
        "query": {"query": qc.Q8B},
        "using": {"using": "half", "query": [1.0] * 8},
        "filter": {"filter": {"must": [{"key": "tag", "match": {"value": "red"}}]}},
        "score_threshold": {"score_threshold": 0.9},
        "limit": {"limit": 2},
        "offset": {"offset": 2},
        "with_vector": {"with_vector": ["dense"]},
        "with_payload": {"with_payload": ["tag"]},
        "lookup_from": {"query": 3, "lookup_from": {"collection": qc.OTHER, "vector": "dense2"}},
    }
    same = {"params": {"params": {"exact": True, "hnsw_ef": 16}}}  # exact either way here
    refused = {"shard_key": {"shard_key": 1}}
    assert set(models.QueryRequest.model_fields) == set(changes) | set(same) | set(refused)

    def answer(body: dict[str, Any]) -> Any:
        r = raw.post(path, json=body)
        assert r.status_code == 200, r.text
        return r.json()["result"]["points"]

    first = answer(base)
    for field, change in changes.items():
        before = answer({**base, "query": 3}) if field == "lookup_from" else first
        assert answer({**base, **change}) != before, field
    for field, change in same.items():
        assert answer({**base, **change}) == first, field
    for field, change in refused.items():
        assert raw.post(path, json={**base, **change}).status_code == 400, field

"""engine.convert against the real engine: every filter must select the same points in an
EdgeShard as in QdrantClient(":memory:") holding the same data."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from pathlib import Path
from typing import Any

import pytest
import qdrant_edge as qe
from qdrant_client import QdrantClient, models

from crewchief.engine.convert.filters import edge_filter
from crewchief.engine.convert.ids import client_point_id, edge_point_id
from crewchief.engine.convert.index_schema import (
    client_payload_schema,
    edge_field_index_schema,
    edge_payload_schema,
)
from crewchief.engine.convert.payload import edge_with_payload
from crewchief.errors import InvalidInput, ValidationFailed

COLL = "conv"
N_POINTS = 200
NS = uuid.UUID("6ba7b810-9dad-11d1-80b4-00c04fd430c8")
WORDS = ["alpha", "beta", "gamma", "quick", "brown", "fox", "lazy", "dog", "jumps", "over"]
BASE_TS = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def point_id(i: int) -> int | str:
    return str(uuid.uuid5(NS, str(i))) if i % 5 == 0 else i


def make_points() -> list[tuple[int | str, list[float], dict[str, Any]]]:
    rng = random.Random(7)
    points = []
    for i in range(N_POINTS):
        p: dict[str, Any] = {"n": i % 50, "price": round(rng.uniform(0, 100), 2)}
        if i % 7:
            p["kind"] = ["red", "green", "blue"][i % 3]
        if i % 11:
            p["flag"] = i % 2 == 0
        p["mixed"] = [True, 1, False, 0][i % 4]
        p["tags"] = rng.sample(["a", "b", "c", "d", "e"], k=i % 4)
        p["nums"] = [i % 3, i % 5]
        p["meta"] = {"level": i % 4, "name": f"name{i % 6}"}
        p["items"] = [{"sku": rng.choice("xyz"), "qty": rng.randint(0, 10)} for _ in range(i % 3)]
        if i % 13:
            p["loc"] = {"lon": round(rng.uniform(-10, 10), 4), "lat": round(rng.uniform(40, 60), 4)}
        p["ts"] = (BASE_TS + dt.timedelta(hours=7 * i)).isoformat().replace("+00:00", "Z")
        p["text"] = " ".join(rng.sample(WORDS, 4))
        if i % 3 == 0:
            p["maybe"] = None
        elif i % 3 == 2:
            p["maybe"] = i
        p["code"] = f"{['AB', 'CD', 'EF'][i % 3]}-{i:03d}"
        vector = [rng.uniform(0.1, 1.0) for _ in range(4)]
        points.append((point_id(i), vector, p))
    return points


POINTS = make_points()


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory) -> Any:
    path = tmp_path_factory.mktemp("edge") / "shard"
    shard = qe.EdgeShard.create(
        str(path), qe.EdgeConfig(vectors=qe.EdgeVectorParams(size=4, distance=qe.Distance.Cosine))
    )
    shard.update(
        qe.UpdateOperation.upsert_points(
            [qe.Point(edge_point_id(pid), vec, payload) for pid, vec, payload in POINTS]
        )
    )
    client = QdrantClient(":memory:")
    client.create_collection(
        COLL, vectors_config=models.VectorParams(size=4, distance=models.Distance.COSINE)
    )
    client.upsert(
        COLL,
        [models.PointStruct(id=pid, vector=vec, payload=payload) for pid, vec, payload in POINTS],
    )
    yield shard, client
    client.close()
    shard.close()


FC = models.FieldCondition
UTC = dt.UTC


def gp(lon: float, lat: float) -> models.GeoPoint:
    return models.GeoPoint(lon=lon, lat=lat)


nested_items = models.NestedCondition(
    nested=models.Nested(
        key="items",
        filter=models.Filter(
            must=[
                FC(key="sku", match=models.MatchValue(value="x")),
                FC(key="qty", range=models.Range(gte=5)),
            ]
        ),
    )
)

FILTERS = {
    # --- match ---
    "value_keyword": models.Filter(must=[FC(key="kind", match=models.MatchValue(value="red"))]),
    "value_int": models.Filter(must=[FC(key="n", match=models.MatchValue(value=7))]),
    "value_bool_true": models.Filter(must=[FC(key="flag", match=models.MatchValue(value=True))]),
    "value_bool_false": models.Filter(must=[FC(key="flag", match=models.MatchValue(value=False))]),
    "value_bool_vs_int": models.Filter(
        should=[FC(key="mixed", match=models.MatchValue(value=True))],
        must_not=[FC(key="mixed", match=models.MatchValue(value=0))],
    ),
    "value_in_array": models.Filter(must=[FC(key="tags", match=models.MatchValue(value="c"))]),
    "value_nested_key": models.Filter(
        must=[FC(key="meta.name", match=models.MatchValue(value="name3"))]
    ),
    "any_keywords": models.Filter(must=[FC(key="tags", match=models.MatchAny(any=["a", "e"]))]),
    "any_ints": models.Filter(must=[FC(key="nums", match=models.MatchAny(any=[4, 2]))]),
    "except_keywords": models.Filter(
        must=[FC(key="kind", match=models.MatchExcept(**{"except": ["red"]}))]
    ),
    "except_ints": models.Filter(
        must=[FC(key="n", match=models.MatchExcept(**{"except": list(range(10))}))]
    ),
    "except_on_null": models.Filter(
        must=[FC(key="maybe", match=models.MatchExcept(**{"except": [2]}))]
    ),
    "text": models.Filter(must=[FC(key="text", match=models.MatchText(text="quick fox"))]),
    "text_any": models.Filter(must=[FC(key="text", match=models.MatchTextAny(text_any="fox dog"))]),
    "phrase": models.Filter(must=[FC(key="text", match=models.MatchPhrase(phrase="quick brown"))]),
    "prefix": models.Filter(must=[FC(key="code", match=models.MatchPrefix(prefix="AB-0"))]),
    "substring": models.Filter(must=[FC(key="code", match=models.MatchSubstring(substring="-01"))]),
    # --- ranges ---
    "range_float": models.Filter(must=[FC(key="price", range=models.Range(gte=20.5, lt=60))]),
    "range_int": models.Filter(must=[FC(key="n", range=models.Range(gt=10, lte=20))]),
    "range_nested_key": models.Filter(must=[FC(key="meta.level", range=models.Range(gte=2))]),
    "range_array_of_objects": models.Filter(must=[FC(key="items[].qty", range=models.Range(gt=8))]),
    "datetime_aware": models.Filter(
        must=[
            FC(
                key="ts",
                range=models.DatetimeRange(
                    gte=dt.datetime(2024, 1, 10, tzinfo=UTC),
                    lt=dt.datetime(2024, 1, 20, tzinfo=UTC),
                ),
            )
        ]
    ),
    "datetime_offset": models.Filter(
        must=[
            FC(
                key="ts",
                range=models.DatetimeRange(
                    lte=dt.datetime(2024, 1, 5, 3, tzinfo=dt.timezone(dt.timedelta(hours=2)))
                ),
            )
        ]
    ),
    "datetime_naive": models.Filter(
        must=[FC(key="ts", range=models.DatetimeRange(gt=dt.datetime(2024, 2, 20, 12)))]
    ),
    "datetime_date": models.Filter(
        must=[FC(key="ts", range=models.DatetimeRange(gte=dt.date(2024, 2, 1)))]
    ),
    # --- geo ---
    "geo_bbox": models.Filter(
        must=[
            FC(
                key="loc",
                geo_bounding_box=models.GeoBoundingBox(top_left=gp(-5, 55), bottom_right=gp(5, 45)),
            )
        ]
    ),
    "geo_radius": models.Filter(
        must=[FC(key="loc", geo_radius=models.GeoRadius(center=gp(0, 50), radius=400_000))]
    ),
    "geo_polygon": models.Filter(
        must=[
            FC(
                key="loc",
                geo_polygon=models.GeoPolygon(
                    exterior=models.GeoLineString(
                        points=[gp(-8, 42), gp(8, 42), gp(8, 58), gp(-8, 58), gp(-8, 42)]
                    ),
                    interiors=[
                        models.GeoLineString(
                            points=[gp(-3, 47), gp(3, 47), gp(3, 53), gp(-3, 53), gp(-3, 47)]
                        )
                    ],
                ),
            )
        ]
    ),
    # --- counts, emptiness, nulls ---
    "values_count": models.Filter(must=[FC(key="tags", values_count=models.ValuesCount(gte=2))]),
    "values_count_objects": models.Filter(
        must=[FC(key="items", values_count=models.ValuesCount(lt=2))]
    ),
    "field_is_empty": models.Filter(must=[FC(key="tags", is_empty=True)]),
    "field_is_not_empty": models.Filter(must=[FC(key="maybe", is_empty=False)]),
    "field_is_null": models.Filter(must=[FC(key="maybe", is_null=True)]),
    "is_empty_condition": models.Filter(
        must=[models.IsEmptyCondition(is_empty=models.PayloadField(key="maybe"))]
    ),
    "is_null_condition": models.Filter(
        must=[models.IsNullCondition(is_null=models.PayloadField(key="maybe"))]
    ),
    "missing_field_is_empty": models.Filter(
        must=[models.IsEmptyCondition(is_empty=models.PayloadField(key="kind"))]
    ),
    # --- ids, vectors, slices ---
    "has_id": models.Filter(
        must=[
            models.HasIdCondition(
                has_id=[
                    1,
                    2,
                    3,
                    point_id(5),
                    uuid.UUID(str(point_id(10))),
                    str(point_id(15)).upper(),
                ]
            )
        ]
    ),
    "has_vector_default": models.Filter(
        must_not=[models.HasVectorCondition(has_vector="")],
    ),
    "slice": models.Filter(must=[models.SliceCondition(slice=models.Slice(total=3, index=1))]),
    # --- nesting and clauses ---
    "nested_condition": models.Filter(must=[nested_items]),
    "not_nested_equivalent": models.Filter(
        must=[
            FC(key="items[].sku", match=models.MatchValue(value="x")),
            FC(key="items[].qty", range=models.Range(gte=5)),
        ]
    ),
    "nested_filter": models.Filter(
        must=[
            models.Filter(
                should=[
                    FC(key="kind", match=models.MatchValue(value="blue")),
                    models.Filter(must_not=[FC(key="flag", match=models.MatchValue(value=True))]),
                ]
            )
        ]
    ),
    "single_must": models.Filter(must=FC(key="kind", match=models.MatchValue(value="green"))),
    "single_should": models.Filter(should=FC(key="n", range=models.Range(lt=5))),
    "single_must_not": models.Filter(must_not=FC(key="kind", match=models.MatchValue(value="red"))),
    "should_list": models.Filter(
        should=[
            FC(key="kind", match=models.MatchValue(value="red")),
            FC(key="tags", match=models.MatchValue(value="a")),
        ]
    ),
    "min_should": models.Filter(
        min_should=models.MinShould(
            conditions=[
                FC(key="kind", match=models.MatchValue(value="red")),
                FC(key="tags", match=models.MatchValue(value="a")),
                FC(key="flag", match=models.MatchValue(value=True)),
            ],
            min_count=2,
        )
    ),
    "all_clauses": models.Filter(
        must=[FC(key="price", range=models.Range(gte=10))],
        should=[
            FC(key="meta.level", match=models.MatchValue(value=1)),
            FC(key="tags", match=models.MatchAny(any=["b"])),
        ],
        must_not=[models.IsEmptyCondition(is_empty=models.PayloadField(key="loc"))],
        min_should=models.MinShould(
            conditions=[
                FC(key="n", range=models.Range(lt=30)),
                FC(key="kind", match=models.MatchExcept(**{"except": ["blue"]})),
            ],
            min_count=1,
        ),
    ),
    "empty_filter": models.Filter(),
    "empty_lists": models.Filter(must=[], should=[], must_not=[]),
    # a filter that came over gRPC has empty lists for its missing clauses, nested ones too
    "nested_empty_lists": models.Filter(
        must=[
            models.NestedCondition(
                nested=models.Nested(
                    key="items",
                    filter=models.Filter(
                        must=[FC(key="sku", match=models.MatchValue(value="x"))],
                        should=[],
                        must_not=[FC(key="qty", range=models.Range(lt=5))],
                    ),
                )
            )
        ],
        should=[],
    ),
}


def edge_ids(shard: qe.EdgeShard, f: models.Filter | None) -> set[int | str]:
    records, _ = shard.scroll(qe.ScrollRequest(limit=10_000, filter=edge_filter(f)))
    return {client_point_id(r.id) for r in records}


def client_ids(client: QdrantClient, f: models.Filter | None) -> set[models.ExtendedPointId]:
    records, _ = client.scroll(COLL, scroll_filter=f, limit=10_000)
    return {r.id for r in records}


@pytest.mark.parametrize("name", list(FILTERS))
def test_filter_matches_client(engines: Any, name: str) -> None:
    shard, client = engines
    f = FILTERS[name]
    expected = client.count(COLL, count_filter=f, exact=True).count
    assert shard.count(qe.CountRequest(exact=True, filter=edge_filter(f))) == expected
    assert edge_ids(shard, f) == client_ids(client, f)


def test_filter_table_is_selective(engines: Any) -> None:
    """Guard against a table of trivially-all or trivially-none filters."""
    _, client = engines
    counts = {n: client.count(COLL, count_filter=f, exact=True).count for n, f in FILTERS.items()}
    partial = [n for n, c in counts.items() if 0 < c < N_POINTS]
    assert len(partial) >= len(FILTERS) - 4, counts


def test_none_and_dict_filters(engines: Any) -> None:
    shard, client = engines
    assert edge_filter(None) is None
    assert shard.count(qe.CountRequest(exact=True, filter=edge_filter(None))) == N_POINTS
    as_dict = {"must": [{"key": "kind", "match": {"value": "red"}}]}
    expected = client.count(
        COLL, count_filter=models.Filter.model_validate(as_dict), exact=True
    ).count
    assert shard.count(qe.CountRequest(exact=True, filter=edge_filter(as_dict))) == expected


def test_has_vector_named(tmp_path: Path) -> None:
    shard = qe.EdgeShard.create(
        str(tmp_path / "named"),
        qe.EdgeConfig(
            vectors={
                "a": qe.EdgeVectorParams(size=2, distance=qe.Distance.Dot),
                "b": qe.EdgeVectorParams(size=2, distance=qe.Distance.Dot),
            }
        ),
    )
    try:
        shard.update(
            qe.UpdateOperation.upsert_points(
                [
                    qe.Point(i, {"a": [1.0, 0.5]} if i % 2 else {"a": [1.0, 0.5], "b": [0.1, 1.0]})
                    for i in range(10)
                ]
            )
        )
        has_b = models.Filter(must=[models.HasVectorCondition(has_vector="b")])
        assert shard.count(qe.CountRequest(filter=edge_filter(has_b))) == 5
        assert edge_ids(shard, has_b) == {0, 2, 4, 6, 8}
    finally:
        shard.close()


# --- point ids -------------------------------------------------------------------------------


def test_point_id_round_trip(engines: Any) -> None:
    shard, client = engines
    u = uuid.UUID(str(point_id(5)))
    assert edge_point_id(7) == 7
    assert edge_point_id(str(u)) == u
    assert edge_point_id(str(u).upper()) == u
    assert edge_point_id(u.hex) == u
    assert edge_point_id(u) == u
    assert client_point_id(7) == 7
    assert client_point_id(u) == str(u)
    assert client_point_id(str(u).upper()) == str(u)

    for pid in (7, str(u), str(u).upper(), u):
        (rec,) = shard.retrieve([edge_point_id(pid)], False, False)
        (crec,) = client.retrieve(COLL, [pid])
        assert client_point_id(rec.id) == crec.id
        assert type(client_point_id(rec.id)) is type(crec.id)


@pytest.mark.parametrize("bad", ["abc", "42", -1, 2**64, True, 1.5, None])
def test_invalid_point_ids(bad: Any) -> None:
    with pytest.raises(InvalidInput) as exc:
        edge_point_id(bad)
    assert exc.value.hint


# --- with_payload ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "with_payload",
    [
        True,
        False,
        ["kind", "n"],
        ["meta.level"],
        models.PayloadSelectorInclude(include=["kind", "tags"]),
        models.PayloadSelectorExclude(exclude=["text", "items", "meta"]),
    ],
    ids=["true", "false", "list", "nested_key", "include", "exclude"],
)
def test_with_payload_matches_client(engines: Any, with_payload: Any) -> None:
    shard, client = engines
    ids = [point_id(i) for i in (0, 1, 2, 14)]
    edge_recs = shard.retrieve(
        [edge_point_id(p) for p in ids], edge_with_payload(with_payload), False
    )
    client_recs = client.retrieve(COLL, ids, with_payload=with_payload)
    got = {client_point_id(r.id): r.payload or {} for r in edge_recs}
    want = {r.id: r.payload or {} for r in client_recs}
    assert got == want


def test_with_payload_values() -> None:
    assert edge_with_payload(None) is None
    assert edge_with_payload(True) is True
    assert edge_with_payload(("a", "b")) == ["a", "b"]
    with pytest.raises(InvalidInput):
        edge_with_payload(42)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        edge_with_payload([1, 2])  # type: ignore[list-item]


# --- payload index schemas -------------------------------------------------------------------


def test_payload_schema_round_trip(tmp_path: Path) -> None:
    shard = qe.EdgeShard.create(
        str(tmp_path / "schema"),
        qe.EdgeConfig(vectors=qe.EdgeVectorParams(size=4, distance=qe.Distance.Cosine)),
    )
    try:
        shard.update(
            qe.UpdateOperation.upsert_points(
                [qe.Point(edge_point_id(pid), vec, payload) for pid, vec, payload in POINTS]
            )
        )
        text_params = models.TextIndexParams(
            type=models.TextIndexType.TEXT,
            tokenizer=models.TokenizerType.WORD,
            lowercase=True,
            phrase_matching=True,
            stopwords=models.StopwordsSet(languages=[models.Language.ENGLISH], custom=["fox"]),
            stemmer=models.SnowballParams(
                type=models.Snowball.SNOWBALL, language=models.SnowballLanguage.ENGLISH
            ),
            memory=models.Memory.CACHED,
        )
        schemas: dict[str, Any] = {
            "kind": models.PayloadSchemaType.KEYWORD,
            "n": models.IntegerIndexParams(
                type=models.IntegerIndexType.INTEGER, lookup=True, range=False
            ),
            "code": models.KeywordIndexParams(
                type=models.KeywordIndexType.KEYWORD, is_tenant=True, prefix=True
            ),
            "ts": "datetime",
            "text": text_params,
        }
        for key, schema in schemas.items():
            shard.update(
                qe.UpdateOperation.create_field_index(key, edge_field_index_schema(schema))
            )

        info = {k: client_payload_schema(v) for k, v in shard.info().payload_schema.items()}
        assert set(info) == set(schemas)
        assert info["kind"] == models.PayloadIndexInfo(
            data_type=models.PayloadSchemaType.KEYWORD, params=None, points=171
        )
        assert info["n"].data_type == models.PayloadSchemaType.INTEGER
        assert info["n"].points == N_POINTS
        assert info["n"].params == schemas["n"]
        assert info["code"].params == schemas["code"]
        assert info["ts"].data_type == models.PayloadSchemaType.DATETIME
        assert info["ts"].params is None
        text = info["text"].params
        assert isinstance(text, models.TextIndexParams)
        assert text.tokenizer == models.TokenizerType.WORD
        assert text.stopwords == text_params.stopwords
        assert text.stemmer == text_params.stemmer
        assert text.memory == models.Memory.CACHED
        assert text.phrase_matching is True
    finally:
        shard.close()


def test_edge_payload_schema_shapes() -> None:
    schema_type, params = edge_payload_schema(models.PayloadSchemaType.GEO)
    assert schema_type == qe.PayloadSchemaType.Geo and params is None
    schema_type, params = edge_payload_schema("bool")
    assert schema_type == qe.PayloadSchemaType.Bool and params is None
    schema_type, params = edge_payload_schema(
        models.FloatIndexParams(type=models.FloatIndexType.FLOAT, is_principal=True)
    )
    assert schema_type == qe.PayloadSchemaType.Float
    assert isinstance(params, qe.FloatIndexParams) and params.is_principal is True
    assert edge_field_index_schema("uuid") == qe.PayloadSchemaType.Uuid
    with pytest.raises(InvalidInput):
        edge_payload_schema("vector")
    with pytest.raises(InvalidInput):
        edge_payload_schema(models.VectorParams(size=4, distance=models.Distance.DOT))


# --- what cannot be converted ----------------------------------------------------------------


def test_min_should_needs_one_condition_at_least() -> None:
    """Qdrant 1.19's rule (min_count 0 would match every point): its 422, path and text."""
    flt = models.Filter(
        must=[models.Filter(min_should=models.MinShould(conditions=[], min_count=0))]
    )
    with pytest.raises(ValidationFailed) as exc:
        edge_filter(flt)
    assert exc.value.message == (
        "Validation error in JSON body: [filter.must[0].min_should.min_count: "
        "min_count must be greater than 0]"
    )


@pytest.mark.parametrize(
    "bad",
    [
        models.Filter(must=[FC(key="kind")]),
        models.Filter(should=[models.HasIdCondition(has_id=["not-a-uuid"])]),
        models.Filter.model_construct(must=[object()]),
        models.Filter.model_construct(must_not=[{"key": "kind", "match": {"value": "red"}}]),
        models.Filter(must=[models.SliceCondition(slice=models.Slice(total=2, index=2))]),
        models.Filter(
            min_should=models.MinShould(conditions=[models.Filter(must=[FC(key="x")])], min_count=1)
        ),
        {"must": [{"key": "kind", "match": {"nope": 1}}]},
        "kind == red",
    ],
    ids=[
        "empty_field_condition",
        "bad_id",
        "foreign_object",
        "raw_dict_condition",
        "slice_out_of_range",
        "deep_empty_condition",
        "invalid_dict",
        "not_a_filter",
    ],
)
def test_unsupported_raises_invalid_input(bad: Any) -> None:
    with pytest.raises(InvalidInput) as exc:
        edge_filter(bad)
    assert exc.value.message
    assert exc.value.hint
    assert exc.value.http_status == 400


def test_answers_built_without_validation_equal_pydantics(tmp_path: Path) -> None:
    """`client_scored` / `client_record` build models as model_construct does, without its
    walk: the result must be what pydantic's validated construction gives (value, fields
    set, JSON, copies and assignment), for dense, sparse and payload-less points."""
    from crewchief.engine import Engine
    from crewchief.engine.convert.points import client_record, client_scored
    from crewchief.engine.convert.vectors import client_vector

    engine = Engine(tmp_path / "data")
    engine.create_collection(
        "c",
        vectors_config={"d": models.VectorParams(size=3, distance=models.Distance.DOT)},
        sparse_vectors_config={"s": models.SparseVectorParams()},
    )
    engine.upsert(
        "c",
        [
            models.PointStruct(
                id=1,
                vector={"d": [1.0, 0.0, 0.5], "s": models.SparseVector(indices=[3], values=[2.0])},
                payload={"a": [1, {"b": None}], "t": "x"},
            ),
            models.PointStruct(id=str(uuid.UUID(int=7)), vector={"d": [0.5, 1.0, 0.0]}),
        ],
    )
    col = engine.collection("c")
    request = qe.QueryRequest(
        limit=5, query=qe.Query.Nearest([1.0, 1.0, 1.0], "d"), with_payload=True, with_vector=True
    )
    found = col.read(lambda s: s.query(request))
    assert len(found) == 2
    for p in found:
        got = client_scored(p)
        want = models.ScoredPoint(
            id=client_point_id(p.id),
            version=p.version,
            score=p.score,
            payload=p.payload,
            vector=client_vector(p.vector),
            order_value=p.order_value,
        )
        assert got == want
        assert got.model_fields_set == want.model_fields_set
        assert got.model_dump_json(exclude_unset=True) == want.model_dump_json(exclude_unset=True)
        assert got.model_copy(update={"score": 0.0}).score == 0.0
        got.score = 2.0  # assignment works and marks the field set, as on pydantic's own
        assert got.score == 2.0 and "score" in got.model_fields_set
        assert client_scored(p, False).vector is None
        assert set(client_scored(p, ["d"]).vector) == {"d"}
    records = col.read(lambda s: s.retrieve([1], with_payload=True, with_vector=True))
    got_record = client_record(records[0])
    want_record = models.Record(
        id=1, payload=records[0].payload, vector=client_vector(records[0].vector)
    )
    assert got_record == want_record
    assert got_record.model_fields_set == want_record.model_fields_set
    engine.close()

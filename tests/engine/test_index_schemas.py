"""Payload indexes of every schema Qdrant 1.19 has, on the real engine: created, echoed
in get_collection's payload_schema as created, used by filters, and validated as Qdrant
validates them.  (Local mode keeps no payload indexes, so there is nothing to compare.)
"""

from __future__ import annotations

from typing import Any

import pytest
from qdrant_client import models

from crewchief import Engine
from crewchief.errors import InvalidInput

M = models
TEXT_FULL = M.TextIndexParams(
    type=M.TextIndexType.TEXT,
    tokenizer=M.TokenizerType.PREFIX,
    min_token_len=2,
    max_token_len=12,
    lowercase=False,
    ascii_folding=True,
    phrase_matching=True,
    stopwords=M.StopwordsSet(languages=[M.Language.ENGLISH], custom=["foo"]),
    stemmer=M.SnowballParams(type=M.Snowball.SNOWBALL, language=M.SnowballLanguage.ENGLISH),
    on_disk=True,
)
SCHEMAS: dict[str, Any] = {
    "keyword": M.PayloadSchemaType.KEYWORD,
    "keyword_text": "keyword",
    "integer": M.PayloadSchemaType.INTEGER,
    "float": M.PayloadSchemaType.FLOAT,
    "bool": M.PayloadSchemaType.BOOL,
    "geo": M.PayloadSchemaType.GEO,
    "text": M.PayloadSchemaType.TEXT,
    "datetime": M.PayloadSchemaType.DATETIME,
    "uuid": M.PayloadSchemaType.UUID,
    "keyword_tenant": M.KeywordIndexParams(
        type=M.KeywordIndexType.KEYWORD, is_tenant=True, on_disk=True
    ),
    "keyword_prefix": M.KeywordIndexParams(type=M.KeywordIndexType.KEYWORD, prefix=True),
    "integer_lookup": M.IntegerIndexParams(
        type=M.IntegerIndexType.INTEGER, lookup=True, range=False, is_principal=True
    ),
    "integer_range": M.IntegerIndexParams(
        type=M.IntegerIndexType.INTEGER, lookup=False, range=True, on_disk=True
    ),
    "float_principal": M.FloatIndexParams(
        type=M.FloatIndexType.FLOAT, is_principal=True, on_disk=True
    ),
    "bool_disk": M.BoolIndexParams(type=M.BoolIndexType.BOOL, on_disk=True),
    "geo_disk": M.GeoIndexParams(type=M.GeoIndexType.GEO, on_disk=True),
    "datetime_principal": M.DatetimeIndexParams(
        type=M.DatetimeIndexType.DATETIME, is_principal=True
    ),
    "uuid_tenant": M.UuidIndexParams(type=M.UuidIndexType.UUID, is_tenant=True, on_disk=True),
    "text_full": TEXT_FULL,
    "text_word": M.TextIndexParams(
        type=M.TextIndexType.TEXT,
        tokenizer=M.TokenizerType.WORD,
        stopwords=M.Language.ENGLISH,
        stemmer=M.DisabledStemmerParams(type=M.NoStemmer.NONE),
    ),
    "text_multilingual": M.TextIndexParams(
        type=M.TextIndexType.TEXT, tokenizer=M.TokenizerType.MULTILINGUAL
    ),
    "text_whitespace": M.TextIndexParams(
        type=M.TextIndexType.TEXT, tokenizer=M.TokenizerType.WHITESPACE, lowercase=True
    ),
}


def _set_fields(params: Any) -> dict[str, Any]:
    return params.model_dump(exclude_none=True, mode="json")


@pytest.mark.parametrize("field", list(SCHEMAS))
def test_every_schema_is_created_and_echoed(engine: Engine, field: str) -> None:
    engine.create_collection("c", vectors_config=M.VectorParams(size=2, distance=M.Distance.DOT))
    schema = SCHEMAS[field]
    result = engine.create_payload_index("c", field, field_schema=schema)
    assert result.status == M.UpdateStatus.COMPLETED
    info = engine.get_collection("c").payload_schema[field]
    if isinstance(schema, str):
        assert info.data_type == M.PayloadSchemaType(schema)
        assert info.params is None
        return
    assert type(info.params) is type(schema)
    echoed, given = _set_fields(info.params), _set_fields(schema)
    # every option given comes back with its value (the engine may add its defaults)
    assert {k: echoed.get(k) for k in given} == given | _stopwords(given, echoed)


def _stopwords(given: dict[str, Any], echoed: dict[str, Any]) -> dict[str, Any]:
    """A bare stopwords language is echoed as the set it stands for (as Qdrant does)."""
    if isinstance(given.get("stopwords"), str):
        assert echoed["stopwords"] in (given["stopwords"], {"languages": [given["stopwords"]]})
        return {"stopwords": echoed["stopwords"]}
    return {}


def test_indexes_answer_filters(engine: Engine) -> None:
    engine.create_collection("c", vectors_config=M.VectorParams(size=2, distance=M.Distance.DOT))
    engine.upsert(
        "c",
        [
            M.PointStruct(
                id=i,
                vector=[1.0, float(i)],
                payload={
                    "city": ["berlin", "paris"][i % 2],
                    "n": i,
                    "t": "the quick brown foxes" if i % 2 else "lazy dogs",
                    "when": f"2024-01-0{i + 1}T00:00:00Z",
                },
            )
            for i in range(6)
        ],
    )
    for field, schema in [
        ("city", SCHEMAS["keyword_tenant"]),
        ("n", SCHEMAS["integer_range"]),
        ("t", SCHEMAS["text_word"]),
        ("when", M.PayloadSchemaType.DATETIME),
    ]:
        engine.create_payload_index("c", field, field_schema=schema)
    schema_info = engine.get_collection("c").payload_schema
    assert {k: v.points for k, v in schema_info.items()} == {"city": 6, "n": 6, "t": 6, "when": 6}

    def count(cond: Any) -> int:
        return engine.count("c", count_filter=M.Filter(must=[cond])).count

    assert count(M.FieldCondition(key="city", match=M.MatchValue(value="paris"))) == 3
    assert count(M.FieldCondition(key="n", range=M.Range(gte=2, lt=5))) == 3
    assert count(M.FieldCondition(key="t", match=M.MatchText(text="QUICK"))) == 3
    when = M.DatetimeRange(gte="2024-01-03T00:00:00Z")  # type: ignore[arg-type]
    assert count(M.FieldCondition(key="when", range=when)) == 4


def test_recreating_an_index_replaces_it(engine: Engine) -> None:
    engine.create_collection("c", vectors_config=M.VectorParams(size=2, distance=M.Distance.DOT))
    engine.create_payload_index("c", "f", field_schema=M.PayloadSchemaType.KEYWORD)
    engine.create_payload_index("c", "f", field_schema=SCHEMAS["integer_lookup"])
    info = engine.get_collection("c").payload_schema["f"]
    assert info.data_type == M.PayloadSchemaType.INTEGER
    engine.delete_payload_index("c", "f")
    assert engine.get_collection("c").payload_schema == {}


@pytest.mark.parametrize(
    ("schema", "text"),
    [
        (
            M.IntegerIndexParams(type=M.IntegerIndexType.INTEGER, lookup=False, range=False),
            "the 'lookup' and 'range' capabilities can't be both disabled",
        ),
        ({"type": "integer", "lookup": False, "range": False}, "can't be both disabled"),
        ("nonsense", "Unknown payload schema type"),
        ({"type": "nonsense"}, "Unknown payload schema type"),
        ({"type": "text", "tokenizer": "klingon"}, "Bad TextIndexParams"),
        (None, "needs a field_schema"),
    ],
)
def test_bad_schemas_are_refused_and_change_nothing(engine: Engine, schema: Any, text: str) -> None:
    engine.create_collection("c", vectors_config=M.VectorParams(size=2, distance=M.Distance.DOT))
    with pytest.raises(InvalidInput, match=text):
        engine.create_payload_index("c", "f", field_schema=schema)
    assert engine.get_collection("c").payload_schema == {}


def test_integer_lookup_or_range_alone_is_fine(engine: Engine) -> None:
    engine.create_collection("c", vectors_config=M.VectorParams(size=2, distance=M.Distance.DOT))
    for lookup, rng in [(True, False), (False, True), (None, False), (False, None)]:
        params = M.IntegerIndexParams(type=M.IntegerIndexType.INTEGER, lookup=lookup, range=rng)
        engine.create_payload_index("c", f"f_{lookup}_{rng}", field_schema=params)
    assert len(engine.get_collection("c").payload_schema) == 4


def test_indexes_survive_a_restart(engine: Engine) -> None:
    engine.create_collection("c", vectors_config=M.VectorParams(size=2, distance=M.Distance.DOT))
    engine.create_payload_index("c", "t", field_schema=TEXT_FULL)
    before = engine.get_collection("c").payload_schema
    path = engine.path
    engine.close()
    with Engine(path) as again:
        assert again.get_collection("c").payload_schema == before

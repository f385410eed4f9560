"""The deploy's gates: point count parity, and overlap@k / recall@k on the --queries lines.

A line of the queries file is one JSON object, either
- plain: `{"vector": [...]}` (plus `"payload"` when re-embedding): nearest neighbours
  on the deploy's dense vector, as before; or
- a Query API body (any field of Qdrant's `QueryRequest`: `query`, `using`,
  `prefetch`, `filter`, `params`...): the source and NEW answer the same body.
  With `--embed` such a line also needs `"vector"` and `"payload"`: for NEW, every
  dense vector in the body equal to `vector` is replaced by the embedding of `payload`.

overlap@k: the share of the source's top k that NEW also returns for the same line
(over the longer of the two answers: a filtered body may find fewer than k);
recall@k: the share of the exact answer's top k (the same request with exact search at
every prefetch stage) that NEW returns.  The body's `limit` is replaced by k.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qdrant_client import models

from crewchief.core.client import QdrantAPI
from crewchief.core.query_body import FIELDS, exact_twin, parse_query, query_kwargs
from crewchief.errors import InvalidInput
from crewchief.ops.copy import EmbedFn
from crewchief.target import Target

if TYPE_CHECKING:
    from crewchief.ops.deploy import DeployPlan

PLAIN = frozenset({"vector", "payload"})


@dataclass
class Gate:
    name: str
    value: float
    threshold: float
    passed: bool
    detail: str


def _is_vector(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(x, int | float) and not isinstance(x, bool) for x in value)
    )


def _check_line(row: Any, n: int, where: str, embed: bool) -> dict[str, Any]:
    at = f"--queries {where} line {n}"
    if not isinstance(row, dict):
        raise InvalidInput(f"{at} is not a JSON object", hint="One JSON object a line")
    if "vector" in row and not _is_vector(row["vector"]):
        raise InvalidInput(f'{at}: "vector" must be a list of numbers')
    body = {k: v for k, v in row.items() if k not in PLAIN}
    if not body:  # a plain line, as before
        if "vector" not in row:
            raise InvalidInput(f'{at} needs a "vector" or a Query API body (e.g. "query")')
        if embed and "payload" not in row:
            raise InvalidInput(f'{at} needs a "payload" when --embed is used')
        return row
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise InvalidInput(
            f"{at}: unknown field(s) {', '.join(unknown)}",
            hint='"vector", "payload" or the fields of a Query API body (QueryRequest)',
        )
    if embed and ("vector" not in row or "payload" not in row):
        raise InvalidInput(
            f'{at}: a Query API line cannot be re-embedded without its "vector" and "payload"',
            hint='Add "vector" (the dense vector used in the body) and "payload" (what to '
            "embed in its place for the new collection), or use a plain vector line",
        )
    if not embed and "vector" in row:
        raise InvalidInput(
            f'{at}: "vector" beside a Query API body is only used with --embed',
            hint='Put the vector in the body ("query") or leave "vector" out',
        )
    parse_query(body, at)
    return row


def read_queries(path: Path, embed: bool = False) -> list[dict[str, Any]]:
    """The --queries JSON lines, each checked (a bad one is named by its line number)."""
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise InvalidInput(f"Cannot read --queries {path}: {exc}") from exc
    rows = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise InvalidInput(
                f"--queries {path} line {n} is not JSON: {exc}", hint="One JSON object a line"
            ) from None
        rows.append(_check_line(row, n, str(path), embed))
    if not rows:
        raise InvalidInput(f"--queries {path} has no query", hint="One JSON object a line")
    return rows


def _replace(value: Any, old: list[Any], new: list[float]) -> Any:
    if value == old:
        return new
    if isinstance(value, dict):
        return {k: _replace(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace(v, old, new) for v in value]
    return value


def _ids(client: QdrantAPI, collection: str, request: models.QueryRequest, k: int) -> set[Any]:
    kwargs = query_kwargs(request, limit=k)
    kwargs.update(with_payload=False, with_vectors=False)
    found = client.query_points(collection, **kwargs).points
    return {p.id if isinstance(p.id, int) else str(p.id) for p in found}


def is_plain(row: dict[str, Any]) -> bool:
    """A plain line (`vector`, `payload`): a query on the deploy's dense vector."""
    return not set(row) - PLAIN


def _requests(
    row: dict[str, Any], using: str | None, embed: EmbedFn | None
) -> tuple[models.QueryRequest, models.QueryRequest]:
    """The request the source answers and the one NEW answers, for one line."""
    body = {k: v for k, v in row.items() if k not in PLAIN}
    if not body:
        body = {"query": row["vector"], "using": using or None}
    new_body = body
    if embed is not None:
        new_body = _replace(body, row["vector"], [float(x) for x in embed([row["payload"]])[0]])
    return parse_query(body), parse_query(new_body)


def run_gates(
    target: Target,
    plan: DeployPlan,
    embed: EmbedFn | None,
    queries: list[dict[str, Any]] | None,
    k: int,
    min_overlap: float,
    min_recall: float,
) -> list[Gate]:
    src = target.client.count(plan.source, exact=True).count
    dst = target.client.count(plan.new, exact=True).count
    gates = [Gate("count_parity", dst, src, dst == src, f"{dst} points in new vs {src} in source")]
    if queries:
        overlaps, recalls = [], []
        for row in queries:
            old_req, new_req = _requests(row, plan.using, embed)
            old = _ids(target.client, plan.source, old_req, k)
            new = _ids(target.client, plan.new, new_req, k)
            exact = _ids(target.client, plan.new, exact_twin(new_req), k)
            overlaps.append(len(old & new) / max(len(old), len(new)) if old or new else 1.0)
            recalls.append(len(new & exact) / len(exact) if exact else float(not new))
        overlap = sum(overlaps) / len(overlaps)
        recall = sum(recalls) / len(recalls)
        gates.append(
            Gate(
                f"overlap@{k}",
                overlap,
                min_overlap,
                overlap >= min_overlap,
                f"mean overlap of top-{k} between source and new over {len(queries)} queries",
            )
        )
        gates.append(
            Gate(
                f"recall@{k}",
                recall,
                min_recall,
                recall >= min_recall,
                f"mean recall of new's index against exact search over {len(queries)} queries",
            )
        )
    return gates

"""What the dashboard's buttons do, through the ops layer (blocking calls).

Alias moves use the same plan/execute pair as the CLI: the page first asks for
the plan (GET, shown in the confirm dialog), then posts it back with the
target the user saw as `expect`, so a switch confirmed on stale information is
refused by the compare-and-set instead of applied.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict
from typing import Any

from qdrant_client import models

from crewchief.core.client import created
from crewchief.core.query_body import parse_query, query_kwargs
from crewchief.core.vectors import dense_vectors, unnamed_vector
from crewchief.errors import InvalidInput, Refused
from crewchief.ops.aliases import SwitchPlan, execute_switch, plan_rollback, plan_switch
from crewchief.target import Target

RANDOM_POOL = 100  # "a random point" is picked among this many from the start
MAX_LIMIT = 100


def switch_plan(target: Target, alias: str, collection: str, force: bool = False) -> SwitchPlan:
    return plan_switch(target, alias, collection, force=force)


def rollback_plan(
    target: Target, alias: str, to: str | None = None, force: bool = False
) -> SwitchPlan:
    return plan_rollback(target, alias, to=to, force=force)


def _check_expect(plan: SwitchPlan, body: dict[str, Any]) -> None:
    if "expect" in body and body["expect"] != plan.current:
        raise Refused(
            f"Alias `{plan.alias}` points at {plan.current!r}, not {body['expect']!r}: "
            "it was moved after you looked",
            hint="Reload the page and check the history before trying again",
        )


def switch(target: Target, alias: str, body: dict[str, Any]) -> dict[str, Any]:
    """Point `alias` at body["collection"], if it still points at body["expect"]."""
    collection = body.get("collection")
    if not isinstance(collection, str) or not collection:
        raise InvalidInput("Say which collection the alias should point at")
    if "expect" in body:  # what the user saw; None means "the alias did not exist"
        plan = plan_switch(target, alias, collection, expect=body["expect"], force=_force(body))
    else:
        plan = plan_switch(target, alias, collection, force=_force(body))
    changes = execute_switch(target, plan)
    return {"plan": plan.to_json(), "changes": [asdict(c) for c in changes]}


def rollback(target: Target, alias: str, body: dict[str, Any]) -> dict[str, Any]:
    """Point `alias` back where it was before its last move (or at body["to"])."""
    plan = plan_rollback(target, alias, to=body.get("to") or None, force=_force(body))
    _check_expect(plan, body)
    changes = execute_switch(target, plan)
    return {"plan": plan.to_json(), "changes": [asdict(c) for c in changes]}


def _force(body: dict[str, Any]) -> bool:
    return body.get("force") is True


def create_snapshot(target: Target, collection: str) -> dict[str, Any]:
    snap = created(target.client.create_snapshot(collection), collection)
    result: dict[str, Any] = snap.model_dump(mode="json")
    return result


def delete_snapshot(target: Target, collection: str, snapshot: str) -> dict[str, Any]:
    target.client.delete_snapshot(collection, snapshot)
    return {"deleted": snapshot}


# -- the search tester ----------------------------------------------------------------------------


def _vector_name(target: Target, collection: str, using: str | None) -> str | None:
    config = target.client.get_collection(collection).config
    if unnamed_vector(config) is not None:
        return None
    dense = dense_vectors(config)
    names = sorted(n for n, p in dense.items() if p.multivector_config is None)
    if using:
        if using not in names:
            kind = "a multi-vector" if using in dense else "no vector"
            raise InvalidInput(
                f"`{collection}` has {kind} named `{using}`: the search tester queries a "
                f"dense vector (has {names})",
                hint="Pick one of the dense vectors",
            )
        return using
    if not names:
        raise InvalidInput(
            f"`{collection}` has no dense vector to search (sparse or multi-vectors only)"
        )
    return names[0]


def _random_point(target: Target, collection: str, using: str | None) -> tuple[Any, list[float]]:
    has = models.Filter(must=[models.HasVectorCondition(has_vector=using)]) if using else None
    page, _ = target.client.scroll(
        collection, scroll_filter=has, limit=RANDOM_POOL, with_payload=False, with_vectors=True
    )
    if not page:
        raise InvalidInput(f"`{collection}` is empty: there is no point to take a vector from")
    point = random.choice(page)
    vector: object = point.vector
    if isinstance(vector, dict):
        vector = vector.get(using or "")
    if not isinstance(vector, list) or not all(isinstance(x, int | float) for x in vector):
        raise InvalidInput("That point has no dense vector to search with")
    return point.id, [float(x) for x in vector]


def _parse_vector(raw: Any) -> list[float]:
    if isinstance(raw, str):  # pasted text: "0.1, 0.2 ..." or a JSON list
        raw = [p for p in raw.replace("[", " ").replace("]", " ").replace(",", " ").split() if p]
    if not isinstance(raw, list) or not raw:
        raise InvalidInput("Paste a vector (numbers separated by commas or spaces)")
    try:
        return [float(x) for x in raw]
    except (TypeError, ValueError):
        raise InvalidInput("The vector must be numbers only") from None


def _query_search(target: Target, collection: str, raw: Any, top: Any) -> dict[str, Any]:
    """Top-k for a Query API body (a JSON object, or its text as pasted); the body's own
    `limit`, else the form's top-k (`top`)."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            raise InvalidInput(f"The Query API body is not JSON: {exc}") from None
    request = parse_query(raw, "The Query API body")
    try:
        limit = int(top or 10) if request.limit is None else request.limit
    except (TypeError, ValueError):
        raise InvalidInput("limit must be a number") from None
    limit = max(1, min(MAX_LIMIT, limit))
    kwargs = query_kwargs(request, limit=limit)
    kwargs["with_payload"] = True
    found = target.client.query_points(collection, **kwargs).points
    return {
        "query_id": None,
        "using": request.using,
        "vector": None,
        "hits": [{"id": p.id, "score": p.score, "payload": p.payload} for p in found],
    }


def search(target: Target, collection: str, body: dict[str, Any]) -> dict[str, Any]:
    """Top-k for a pasted vector, a random point's own vector, or a Query API body
    (body["query_body"]: any fields of Qdrant's QueryRequest, its own `using`; limit at
    most 100, the body's or else body["limit"])."""
    if body.get("query_body") is not None:
        if body.get("random"):
            raise InvalidInput("Send either a Query API body or random, not both")
        return _query_search(target, collection, body["query_body"], body.get("limit"))
    using = _vector_name(target, collection, body.get("using") or None)
    try:
        limit = max(1, min(MAX_LIMIT, int(body.get("limit") or 10)))
    except (TypeError, ValueError):
        raise InvalidInput("limit must be a number") from None
    query_id = None
    if body.get("random"):
        query_id, vector = _random_point(target, collection, using)
    else:
        vector = _parse_vector(body.get("vector"))
    found = target.client.query_points(
        collection, query=vector, using=using, limit=limit, with_payload=True
    ).points
    return {
        "query_id": query_id,
        "using": using,
        "vector": vector,
        "hits": [{"id": p.id, "score": p.score, "payload": p.payload} for p in found],
    }

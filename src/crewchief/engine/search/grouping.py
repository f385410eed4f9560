"""Groups for query_points_groups: keys read from a payload path, filled in rounds of queries.

Qdrant groups on the server, above the shard (lib/shard/src/grouping): it runs the query
with a larger limit (`groups * group_size` candidates, prefetch limits times `group_size`),
asking only for the group key's payload and only for points that have it; it files each
hit under every value of the key (arrays count value by value, a point may join several
groups), then asks again, excluding the points it has and the groups that are full
(up to 5 collecting rounds), then only for the best groups that are not full yet (up to 5
filling rounds).  Groups rank by their best hit, hits in a group by score, in the order
the query's scores mean (`Order`).  `GroupsDriver` is that loop, written for
`qdrant_client.models` requests; the engine runs the queries it asks for.

Group keys are strings and integers; a point whose key holds anything else (a float, a
bool, null, an object) joins no group at all, as in Qdrant.
"""

from __future__ import annotations

import copy
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from qdrant_client import models

ROUNDS_COLLECT = 5  # Qdrant's MAX_GET_GROUPS_REQUESTS
ROUNDS_FILL = 5  # Qdrant's MAX_GROUP_FILLING_REQUESTS
PREFETCH_DEFAULT_LIMIT = 10  # a Prefetch without a limit, as Qdrant reads it

GroupKey = int | str


class Order(Enum):
    LARGE_BETTER = "large"  # similarities, fusion, formulas, recommend/discover, desc order_by
    SMALL_BETTER = "small"  # distances (euclid, manhattan), asc order_by, no query (by id)
    NONE = "none"  # random sample, MMR: the query's own order stands


# -- payload paths -------------------------------------------------------------------------------

_ITEM = re.compile(r'\.?(?:"(?P<quoted>[^"]*)"|(?P<key>[^.\[\]"]+))|\[(?P<index>\d*)\]')


def path_items(path: str) -> list[str | int | None]:
    """`a.b[].c[0]` as ["a", "b", None, "c", 0]: keys, indexes, None for `[]` (every item).
    The path has been checked (`check_payload_key`) before it gets here."""
    items: list[str | int | None] = []
    for m in _ITEM.finditer(path):
        if m.group("quoted") is not None:
            items.append(m.group("quoted"))
        elif m.group("key") is not None:
            items.append(m.group("key"))
        else:
            index = m.group("index")
            items.append(int(index) if index else None)
    return items


def path_values(payload: Any, path: str) -> list[Any]:
    """Every value at `path` in `payload`, as Qdrant's JsonPath reads it: a key steps into an
    object (never through an array: that takes `[]`), `[n]` takes one item, `[]` each one."""
    found: list[Any] = []

    def walk(value: Any, rest: Sequence[str | int | None]) -> None:
        if not rest:
            found.append(value)
            return
        head, tail = rest[0], rest[1:]
        if isinstance(head, str):
            if isinstance(value, dict) and head in value:
                walk(value[head], tail)
        elif isinstance(value, list):
            if head is None:
                for item in value:
                    walk(item, tail)
            elif head < len(value):
                walk(value[head], tail)

    walk(payload, path_items(path))
    return found


def strip_wildcard_suffix(path: str) -> str:
    """`a.b[]` -> `a.b`: the payload to ask for to see a key's values."""
    return path[:-2] if path.endswith("[]") else path


def group_keys(payload: Any, path: str) -> list[GroupKey] | None:
    """The groups a point joins (values at `path`, arrays unrolled one level, each once, in
    order); None if any value is not a string or an integer (the point joins none)."""
    if payload is None:
        return None
    values: list[Any] = []
    for v in path_values(payload, path):
        values.extend(v if isinstance(v, list) else [v])
    keys: list[GroupKey] = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | str):
            return None
        if v not in keys:
            keys.append(v)
    return keys


# -- the groups ----------------------------------------------------------------------------------


@dataclass
class Groups:
    """Qdrant's GroupsAggregator: hits filed by key, the best hit of each group."""

    limit: int  # groups wanted
    group_size: int
    group_by: str
    order: Order
    hits: dict[GroupKey, dict[Any, models.ScoredPoint]] = field(default_factory=dict)
    best: dict[GroupKey, models.ScoredPoint] = field(default_factory=dict)
    full: set[GroupKey] = field(default_factory=set)
    ids: dict[Any, None] = field(default_factory=dict)  # every point seen, in order

    def _better(self, a: models.ScoredPoint, b: models.ScoredPoint) -> bool:
        if self.order is Order.LARGE_BETTER:
            return a.score > b.score
        if self.order is Order.SMALL_BETTER:
            return a.score < b.score
        return False

    def add(self, points: Iterable[models.ScoredPoint]) -> None:
        for point in points:
            keys = group_keys(point.payload, self.group_by)
            for key in keys or ():
                group = self.hits.setdefault(key, {})
                if point.id not in group:
                    group[point.id] = point
                    self.ids[point.id] = None
                if len(group) == self.group_size:
                    self.full.add(key)
                if key not in self.best or self._better(point, self.best[key]):
                    self.best[key] = point

    def _sort(self, points: list[tuple[Any, models.ScoredPoint]]) -> list[Any]:
        if self.order is Order.LARGE_BETTER:
            points = sorted(points, key=lambda kv: -kv[1].score)
        elif self.order is Order.SMALL_BETTER:
            points = sorted(points, key=lambda kv: kv[1].score)
        return [k for k, _ in points]

    def best_keys(self) -> list[GroupKey]:
        return self._sort(list(self.best.items()))[: self.limit]

    def unfilled_best(self) -> list[GroupKey]:
        return [k for k in self.best_keys() if k not in self.full]

    def filled_best(self) -> int:
        return sum(1 for k in self.best_keys() if k in self.full)

    def distill(self) -> list[models.PointGroup]:
        out = []
        for key in self.best_keys():
            hits = self.hits[key]
            ranked = self._sort(list(hits.items()))[: self.group_size]
            out.append(models.PointGroup(id=key, hits=[hits[i] for i in ranked]))
        return out


# -- the rounds ----------------------------------------------------------------------------------


def _merge(flt: Any, must: list[Any], must_not: list[Any]) -> models.Filter:
    """The user's filter (a model or its dict form) AND the conditions a round adds."""
    base: list[Any] = []
    if flt is not None:
        base.append(flt if isinstance(flt, models.Filter) else models.Filter.model_validate(flt))
    return models.Filter(must=[*base, *must] or None, must_not=must_not or None)


def _by_type(keys: Iterable[GroupKey]) -> tuple[list[int], list[str]]:
    ints = [k for k in keys if isinstance(k, int)]
    strs = [k for k in keys if isinstance(k, str)]
    return ints, strs


def except_on(path: str, keys: Iterable[GroupKey]) -> list[models.Condition]:
    ints, strs = _by_type(keys)
    return [
        models.FieldCondition(key=path, match=models.MatchExcept(**{"except": values}))
        for values in (ints, strs)
        if values
    ]


def match_on(path: str, keys: Iterable[GroupKey]) -> list[models.Condition]:
    ints, strs = _by_type(keys)
    return [
        models.FieldCondition(key=path, match=models.MatchAny(any=values))
        for values in (ints, strs)
        if values
    ]


def scaled_prefetch(prefetch: Any, factor: int) -> Any:
    """Prefetches (one, a list, or their dict forms) with every limit, at any depth, times
    `factor`: each stage must bring enough candidates to fill the groups."""
    if prefetch is None:
        return None
    if isinstance(prefetch, list):
        return [scaled_prefetch(p, factor) for p in prefetch]
    p = (
        prefetch.model_copy(deep=True)
        if isinstance(prefetch, models.Prefetch)
        else models.Prefetch.model_validate(copy.deepcopy(prefetch))
    )
    p.limit = (p.limit if p.limit is not None else PREFETCH_DEFAULT_LIMIT) * factor
    p.prefetch = scaled_prefetch(p.prefetch, factor)
    return p


@dataclass
class Round:
    """One candidate query: the base query with this filter, limit and payload."""

    query_filter: models.Filter
    limit: int
    with_payload: list[str]


class GroupsDriver:
    """Qdrant's GroupByDriver: `next_round()` says what to ask, `add()` takes the answer."""

    def __init__(
        self, user_filter: Any, group_by: str, limit: int, group_size: int, order: Order
    ) -> None:
        self.user_filter = user_filter
        self.group_by = group_by
        self.groups = Groups(limit, group_size, group_by, order)
        self.candidates = limit * group_size
        self.state = "done" if limit == 0 or group_size == 0 else "collect"
        self.left = ROUNDS_COLLECT
        self.fill_budget = ROUNDS_FILL

    def next_round(self) -> Round | None:
        while True:
            if self.state == "done":
                return None
            if self.left == 0:
                if self.state == "collect":
                    self.state, self.left = "fill", self.fill_budget
                else:
                    self.state = "done"
                continue
            self.left -= 1
            must: list[Any] = []
            if self.state == "collect":
                must.extend(except_on(self.group_by, self.groups.full))
            else:
                must.extend(match_on(self.group_by, self.groups.unfilled_best()))
            return self._shape(must)

    def _shape(self, must: list[Any]) -> Round:
        must_not: list[Any] = []
        if self.groups.ids:
            must_not.append(models.HasIdCondition(has_id=list(self.groups.ids)))
        must_not.append(models.IsEmptyCondition(is_empty=models.PayloadField(key=self.group_by)))
        return Round(
            _merge(self.user_filter, must, must_not),
            self.candidates,
            [strip_wildcard_suffix(self.group_by)],
        )

    def add(self, points: Sequence[models.ScoredPoint]) -> None:
        self.groups.add(points)
        enough = self.groups.filled_best() >= self.groups.limit
        if self.state == "collect":
            if enough:
                self.state = "done"
            elif not points:
                self.state, self.left = "fill", self.fill_budget
        elif self.state == "fill" and (enough or not points):
            self.state = "done"

    def distill(self) -> list[models.PointGroup]:
        return self.groups.distill()


def lookup_id(key: GroupKey) -> int | str | None:
    """A group key as a point id of the lookup collection, if it can be one (Qdrant skips the
    others): an unsigned integer or a UUID."""
    if isinstance(key, int):
        return key if key >= 0 else None
    try:
        return str(uuid.UUID(key))
    except ValueError:
        return None

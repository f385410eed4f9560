"""Health as indicators, each with a status, a symptom and an action.

`gather(target)` reads what the target says (the only I/O here); `assess(facts,
policy)` is a pure function from those facts to a `HealthReport`.  The worst
indicator sets the overall status, and the exit code follows it:

    0  every indicator green
    1  warnings (yellow or grey)
    2  critical (red)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from qdrant_client import models

from crewchief.backup.state import BackupState, job_failing
from crewchief.core.indexing import over_indexing_threshold
from crewchief.core.vectors import UNNAMED, dense_vectors, sparse_vectors
from crewchief.ops.versions import families
from crewchief.target import Target

GREEN, GREY, YELLOW, RED = "green", "grey", "yellow", "red"
_RANK = {GREEN: 0, GREY: 1, YELLOW: 2, RED: 3}
EXIT_CODES = {GREEN: 0, GREY: 1, YELLOW: 1, RED: 2}


def worst(statuses: list[str]) -> str:
    return max(statuses, key=_RANK.__getitem__, default=GREEN)


@dataclass
class HealthPolicy:
    rpo: timedelta = timedelta(hours=24)  # recovery-point objective: max snapshot age
    max_segments: int = 32


@dataclass
class CollectionFacts:
    name: str
    status: str
    error: str | None
    points: int
    indexed: int
    vectors_per_point: int
    dim: float
    segments: int
    indexing_threshold_kb: int
    last_snapshot: datetime | None = None
    stored_vectors: int | None = None  # vectors of every kind held; None: points * per point
    dense: list[str] = field(default_factory=lambda: [""])  # dense vector names ("" unnamed)
    sparse: list[str] = field(default_factory=list)  # sparse vector names

    @property
    def vectors(self) -> int:
        """Vectors stored, every kind (a point may lack some of its collection's vectors)."""
        if self.stored_vectors is not None:
            return self.stored_vectors
        return self.points * self.vectors_per_point

    @property
    def indexed_pct(self) -> float | None:
        total = self.vectors
        return round(100.0 * min(self.indexed, total) / total, 1) if total else None

    strict_mode: dict[str, Any] | None = None  # the limits set, when strict mode is on
    warnings: list[str] = field(default_factory=list)  # Qdrant's about the configuration


@dataclass
class TargetFacts:
    location: str
    kind: str
    now: datetime
    collections: list[CollectionFacts]
    aliases: dict[str, str]
    all_collections: list[str] = field(default_factory=list)  # before filtering by name
    backups: BackupState | None = None  # when a repository is given


@dataclass
class Indicator:
    name: str
    subject: str
    status: str
    symptom: str
    action: str | None = None


@dataclass
class HealthReport:
    location: str
    kind: str
    checked_at: str
    status: str
    indicators: list[Indicator]

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "exit_code": self.exit_code}


# -- gathering (I/O) ------------------------------------------------------------------------------


def _stored_vectors(target: Target, name: str, names: list[str], points: int) -> int:
    """How many vectors `name` holds: per vector name, the points that have it."""
    if len(names) == 1 and names[0] == UNNAMED or not points:
        return points * len(names)  # every point has the unnamed vector
    has = (models.HasVectorCondition(has_vector=n) for n in names)
    return sum(
        target.client.count(name, count_filter=models.Filter(must=[c]), exact=True).count
        for c in has
    )


def _collection_facts(target: Target, name: str) -> CollectionFacts:
    info: models.CollectionInfo = target.client.get_collection(name)
    dense, sparse = dense_vectors(info.config), sparse_vectors(info.config)
    sizes = [v.size for v in dense.values()]
    points = info.points_count or 0
    error = None
    if isinstance(info.optimizer_status, models.OptimizersStatusOneOf1):
        error = info.optimizer_status.error
    snaps = target.client.list_snapshots(name)
    times = [_parse_time(s.creation_time) for s in snaps if s.creation_time]
    return CollectionFacts(
        name=name,
        status=info.status.value,
        error=error,
        points=points,
        indexed=info.indexed_vectors_count or 0,
        vectors_per_point=len(dense) + len(sparse),
        dim=sum(sizes) / len(sizes) if sizes else 0.0,
        segments=info.segments_count,
        indexing_threshold_kb=info.config.optimizer_config.indexing_threshold or 0,
        last_snapshot=max(times) if times else None,
        stored_vectors=_stored_vectors(target, name, [*dense, *sparse], points),
        dense=list(dense),
        sparse=list(sparse),
        strict_mode=strict_limits(info.config),
        warnings=[w.message for w in info.warnings or []],
    )


def strict_limits(config: models.CollectionConfig) -> dict[str, Any] | None:
    """The strict mode limits a collection enforces (None: strict mode is off)."""
    strict = getattr(config, "strict_mode_config", None)
    if strict is None or not strict.enabled:
        return None
    return strict.model_dump(exclude_none=True, exclude={"enabled"})


def _parse_time(text: str) -> datetime:
    t = datetime.fromisoformat(text)
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def gather(
    target: Target, only: str | None = None, backups: BackupState | None = None
) -> TargetFacts:
    names = target.collection_names()
    aliases = target.aliases()
    if only is not None:
        wanted = aliases.get(only, only)
        aliases = {a: c for a, c in aliases.items() if c == wanted or a == only}
        chosen = [n for n in names if n == wanted]
        if not chosen and not aliases:
            target.client.get_collection(only)  # raises CollectionNotFound with a hint
    else:
        chosen = names
    return TargetFacts(
        location=target.location,
        kind=target.kind,
        now=datetime.now(UTC),
        collections=[_collection_facts(target, n) for n in chosen],
        aliases=aliases,
        all_collections=names,
        backups=backups,
    )


# -- assessing (pure) -----------------------------------------------------------------------------


def _status_indicator(c: CollectionFacts) -> Indicator:
    if c.status == RED:
        return Indicator(
            "status",
            c.name,
            RED,
            f"collection is red: {c.error or 'unknown error'}",
            f"Check the engine's log; restore if needed: crewchief snapshot list {c.name}",
        )
    if c.status == YELLOW:
        return Indicator(
            "status",
            c.name,
            YELLOW,
            "optimizing: an index build is running",
            "Wait; searches are answered meanwhile (unindexed points by brute force)",
        )
    if c.status == GREY:
        return Indicator(
            "status",
            c.name,
            GREY,
            "optimizations pending but not running",
            f"Start them: crewchief optimize {c.name}",
        )
    return Indicator("status", c.name, GREEN, "green: nothing to do")


def _indexing_indicator(c: CollectionFacts) -> Indicator:
    total = c.vectors
    if not c.dense:  # sparse vectors only: their index is kept up to date on every write
        kind = f"{total} sparse vectors" if c.sparse else "no vectors"
        return Indicator("indexing", c.name, GREEN, f"{kind}: no dense index to build")
    unindexed = max(0, total - c.indexed)  # sparse vectors count as indexed as they are written
    if over_indexing_threshold(unindexed, c.dim, c.indexing_threshold_kb):
        share = unindexed / total if total else 0.0
        return Indicator(
            "indexing",
            c.name,
            YELLOW,
            f"{unindexed} of {total} vectors ({share:.0%}) not indexed: "
            "searches over them are brute force",
            f"Build the index: crewchief optimize {c.name}",
        )
    symptom = (
        f"{c.indexed} of {total} vectors indexed"
        if c.indexed
        else f"{total} vectors, below the indexing threshold (brute force is fast enough)"
    )
    return Indicator("indexing", c.name, GREEN, symptom)


def _segments_indicator(c: CollectionFacts, policy: HealthPolicy) -> Indicator:
    if c.segments > policy.max_segments:
        return Indicator(
            "segments",
            c.name,
            YELLOW,
            f"{c.segments} segments (more than {policy.max_segments}): every search visits each",
            f"Merge them: crewchief optimize {c.name}",
        )
    return Indicator(
        "segments", c.name, GREEN, f"{c.segments} segment{'' if c.segments == 1 else 's'}"
    )


def _guard_rails_indicator(c: CollectionFacts) -> Indicator:
    """Strict mode is a choice, so its absence is a hint (green with an action), not a warning."""
    if c.strict_mode is None:
        return Indicator(
            "guard_rails",
            c.name,
            GREEN,
            "no strict mode: any limit, timeout or unindexed filter is served",
            f"optional: PATCH /collections/{c.name} with strict_mode_config "
            '{"enabled": true, "max_query_limit": ..., "unindexed_filtering_retrieve": false}',
        )
    limits = ", ".join(f"{k}={v}" for k, v in sorted(c.strict_mode.items())) or "no limits set"
    return Indicator("guard_rails", c.name, GREEN, f"strict mode on: {limits}")


def _config_indicators(c: CollectionFacts) -> list[Indicator]:
    """Qdrant's warnings about the configuration: a setting it ignores (a hint, not a fault)."""
    action = f"PATCH /collections/{c.name} so the setting applies, or leave it out"
    return [Indicator("config", c.name, GREEN, w, action) for w in c.warnings]


def _snapshot_indicator(c: CollectionFacts, now: datetime, policy: HealthPolicy) -> Indicator:
    action = f"Take one: crewchief snapshot create {c.name}"
    if c.last_snapshot is None:
        return Indicator("snapshot_age", c.name, YELLOW, "no snapshot", action)
    age = now - c.last_snapshot
    hours = age.total_seconds() / 3600
    if age > policy.rpo:
        rpo_h = policy.rpo.total_seconds() / 3600
        return Indicator(
            "snapshot_age",
            c.name,
            YELLOW,
            f"last snapshot {hours:.1f} h ago, older than the {rpo_h:g} h recovery-point objective",
            action,
        )
    return Indicator("snapshot_age", c.name, GREEN, f"last snapshot {hours:.1f} h ago")


def _alias_indicators(facts: TargetFacts) -> list[Indicator]:
    by_name = {c.name: c for c in facts.collections}
    out = []
    for alias, target in sorted(facts.aliases.items()):
        if target not in facts.all_collections:
            out.append(
                Indicator(
                    "alias",
                    alias,
                    RED,
                    f"points at missing collection `{target}`: every request through it fails",
                    f"Re-point it: crewchief alias set {alias} COLLECTION",
                )
            )
        elif target in by_name and by_name[target].points == 0:
            out.append(
                Indicator(
                    "alias",
                    alias,
                    YELLOW,
                    f"points at `{target}`, which is empty",
                    f"Roll back if this is a mistake: crewchief alias rollback {alias}",
                )
            )
        else:
            out.append(Indicator("alias", alias, GREEN, f"-> {target}"))
    return out


def _unused_version_indicators(facts: TargetFacts) -> list[Indicator]:
    targets = set(facts.aliases.values())
    shown = {c.name for c in facts.collections}
    out = []
    for _base, members in families(facts.all_collections).items():
        for old in members[1:]:  # the newest version is never "unused"
            if old in shown and old not in targets:
                out.append(
                    Indicator(
                        "unused_version",
                        old,
                        YELLOW,
                        f"an older version (newest is `{members[0]}`) with no alias pointing at it",
                        "Keep it for rollback, or remove old versions: crewchief gc --keep 2",
                    )
                )
    return out


def _backup_indicator(
    c: CollectionFacts, b: BackupState, now: datetime, rpo: timedelta
) -> Indicator:
    action = f"Back it up: crewchief backup create {c.name} --repo {b.repo}"
    if c.name not in b.newest:
        return Indicator("backup", c.name, YELLOW, f"no backup in {b.repo}", action)
    backup_id, created = b.newest[c.name]
    hours = (now - created).total_seconds() / 3600
    verify = b.verify.get(backup_id)
    check = f"crewchief backup verify {backup_id} --full --repo {b.repo}"
    if verify is not None and not verify["ok"]:
        return Indicator(
            "backup",
            c.name,
            RED,
            f"newest backup {backup_id} FAILED verification: {verify['problems'][:1]}",
            check,
        )
    if now - created > rpo:
        return Indicator(
            "backup",
            c.name,
            YELLOW,
            f"newest backup {hours:.1f} h old, older than the recovery-point objective",
            action,
        )
    if verify is None:
        return Indicator(
            "backup",
            c.name,
            YELLOW,
            f"newest backup ({hours:.1f} h old) never verified: untested backups are not trusted",
            check,
        )
    return Indicator(
        "backup",
        c.name,
        GREEN,
        f"newest backup {hours:.1f} h old, verified ({verify['mode']}) {verify['time'][:19]}",
    )


def _job_indicators(b: BackupState) -> list[Indicator]:
    out = []
    for job, record in sorted(b.jobs.items()):
        error = job_failing(record)
        if error:
            out.append(
                Indicator(
                    "backup_job",
                    job,
                    RED,
                    f"last run failed: {error}",
                    "Fix the cause; the scheduler keeps running and retries on schedule",
                )
            )
        else:
            done = ", ".join(
                f"{a} {t[:19]}" for a, t in sorted(record.get("last_success", {}).items())
            )
            out.append(Indicator("backup_job", job, GREEN, f"ok: {done or 'nothing run yet'}"))
    return out


def assess(facts: TargetFacts, policy: HealthPolicy | None = None) -> HealthReport:
    policy = policy or HealthPolicy()
    indicators: list[Indicator] = []
    for c in facts.collections:
        indicators.append(_status_indicator(c))
        if c.status != RED:
            indicators.append(_indexing_indicator(c))
            indicators.append(_segments_indicator(c, policy))
        if facts.backups is not None:  # the repository's backups are the recovery points
            indicators.append(_backup_indicator(c, facts.backups, facts.now, policy.rpo))
        else:
            indicators.append(_snapshot_indicator(c, facts.now, policy))
        indicators.append(_guard_rails_indicator(c))
        indicators += _config_indicators(c)
    indicators += _alias_indicators(facts)
    if facts.backups is not None:
        indicators += _job_indicators(facts.backups)
    indicators += _unused_version_indicators(facts)
    return HealthReport(
        location=facts.location,
        kind=facts.kind,
        checked_at=facts.now.isoformat(timespec="seconds"),
        status=worst([i.status for i in indicators]),
        indicators=indicators,
    )

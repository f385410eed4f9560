"""Every error crewchief raises on purpose, written once.

Each error carries a one-line message, a hint (what to try next) and the
HTTP status a Qdrant server would answer with.  The CLI maps the class to an
exit code in one place (`exit_code`), the REST server to a status code.

    CrewchiefError
    ├── InvalidInput            (400)  bad name, wrong vector size, bad request
    │   ├── InvalidName
    │   ├── StrictModeViolation        a collection's strict mode refused the request
    │   └── ValidationFailed    (422)  what Qdrant's body validator refuses (ranges, sparse shapes)
    ├── NotFound                (404)
    │   ├── CollectionNotFound
    │   ├── AliasNotFound
    │   └── SnapshotNotFound
    ├── RateLimited             (429)  a collection's strict mode rate limit is spent
    ├── AlreadyExists           (409)
    ├── SnapshotCorrupt         (400)  bad archive, wrong checksum
    ├── Refused                 (409)  a safety net said no (CAS, empty target, ...)
    ├── DataDirLocked           (409)  another process owns the data directory
    ├── StorageError            (502)  backup storage failed (network, permissions, bucket)
    ├── EngineFailure           (500)  the engine itself failed
    └── Unreachable             (502)  a remote target does not answer
"""

from __future__ import annotations


class CrewchiefError(Exception):
    """Base class: an expected failure with a hint for the user."""

    http_status = 500
    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class InvalidInput(CrewchiefError):
    http_status = 400
    exit_code = 64  # EX_USAGE


class InvalidName(InvalidInput):
    pass


class ValidationFailed(InvalidInput):
    """What Qdrant's request validator refuses (422), e.g. a sparse vector's values and
    indices of different lengths; the message is Qdrant's `Validation error in ...: [...]`."""

    http_status = 422


class StrictModeViolation(InvalidInput):
    """A collection's strict mode refused the request; the message is Qdrant's
    `Bad request: ...` (with its `. Help: ...` where Qdrant gives one)."""


class RateLimited(CrewchiefError):
    """A strict mode rate limit is spent: Qdrant's 429 `Rate limiting exceeded: ...`;
    `retry_after`: seconds until enough tokens have refilled (None: never, split it)."""

    http_status = 429
    exit_code = 75  # EX_TEMPFAIL

    def __init__(self, description: str, retry_after: float | None) -> None:
        super().__init__(
            f"Rate limiting exceeded: {description}",
            hint="Wait, split the request, or raise the collection's strict mode rate limit",
        )
        self.retry_after = retry_after


class NotFound(CrewchiefError):
    http_status = 404
    exit_code = 66  # EX_NOINPUT


class CollectionNotFound(NotFound):
    def __init__(self, name: str) -> None:
        super().__init__(
            f"Collection `{name}` doesn't exist!",
            hint="Try: crewchief collections list (names and aliases are case-sensitive)",
        )
        self.name = name


class AliasNotFound(NotFound):
    def __init__(self, name: str) -> None:
        super().__init__(f"Alias `{name}` doesn't exist!", hint="Try: crewchief alias list")
        self.name = name


class SnapshotNotFound(NotFound):
    def __init__(self, collection: str, name: str) -> None:
        super().__init__(
            f"Snapshot `{name}` of collection `{collection}` doesn't exist!",
            hint=f"Try: crewchief snapshot list {collection}",
        )


class AlreadyExists(CrewchiefError):
    http_status = 409
    exit_code = 73  # EX_CANTCREAT


class SnapshotCorrupt(CrewchiefError):
    http_status = 400
    exit_code = 65  # EX_DATAERR


class Refused(CrewchiefError):
    """A safety net refused the operation; `--force` or a fresh look may be needed."""

    http_status = 409
    exit_code = 69  # EX_UNAVAILABLE


class DataDirLocked(CrewchiefError):
    http_status = 409
    exit_code = 75  # EX_TEMPFAIL


class StorageError(CrewchiefError):
    """The backup repository's storage (a directory or an S3 bucket), or the local space
    a backup is staged in, failed."""

    http_status = 502
    exit_code = 74  # EX_IOERR


class EngineFailure(CrewchiefError):
    http_status = 500
    exit_code = 70  # EX_SOFTWARE


class Unreachable(CrewchiefError):
    """A remote target that does not answer (down, wrong URL, network)."""

    http_status = 502
    exit_code = 69  # EX_UNAVAILABLE


def invalid_name(kind: str, name: object, why: str) -> InvalidName:
    return InvalidName(
        f"Invalid {kind} name {name!r}: {why}",
        hint="Names are 1-255 bytes of UTF-8 without '/', '\\', NUL or a leading '.'",
    )


def validate_name(kind: str, name: object) -> str:
    """Return `name` if it can name a collection, alias or snapshot on disk."""
    if not isinstance(name, str) or not name:
        raise invalid_name(kind, name, "it is empty")
    if len(name.encode("utf-8")) > 255:
        raise invalid_name(kind, name[:40] + "...", "it is longer than 255 bytes")
    if name.startswith(".") or any(c in name for c in "/\\\0"):
        raise invalid_name(kind, name, "it may not start with '.' or contain '/', '\\' or NUL")
    if any(ord(c) < 32 for c in name):
        raise invalid_name(kind, name, "it contains a control character")
    return name

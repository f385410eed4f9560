"""Small file systems to run out of space on, and the snapshot-on-a-full-disk run.

`small_filesystem(path, mib, kinds)` mounts a loop ext4 image or a tmpfs at
`path` (we run as root in CI; elsewhere the caller skips with the reason).

`python -m tests.faults.fulldisk snapshot DIR STAGE` runs in a subprocess (so a
crash of the engine cannot take pytest down): it fills collection `c` in
`DIR/data`, fills the file system up to where the snapshot will run out of space
(STAGE `copy`: while staging the shard copy; `tar`: while writing the archive),
tries the snapshot, and prints a JSON report of what happened.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

BALLAST = "ballast"


def _run(*argv: str) -> tuple[bool, str]:
    proc = subprocess.run(list(argv), capture_output=True, text=True)
    return proc.returncode == 0, (proc.stderr or proc.stdout).strip()


def _mount(path: Path, mib: int, kind: str) -> str | None:
    """Mount; None on success, else why not."""
    if kind == "tmpfs":
        ok, why = _run("mount", "-t", "tmpfs", "-o", f"size={mib}m", "tmpfs", str(path))
        return None if ok else f"tmpfs: {why}"
    image = path.with_name(path.name + ".img")
    with open(image, "wb") as f:
        f.truncate(mib * 1024 * 1024)
    for argv in (
        ("mkfs.ext4", "-q", "-F", str(image)),
        ("mount", "-o", "loop", str(image), str(path)),
    ):
        ok, why = _run(*argv)
        if not ok:
            image.unlink(missing_ok=True)
            return f"ext4 loop image: {argv[0]}: {why}"
    return None


@contextlib.contextmanager
def small_filesystem(path: Path, mib: int, kinds: tuple[str, ...]) -> Iterator[str]:
    """Mount the first kind that works at `path`; yields the kind.  RuntimeError if none."""
    path.mkdir(parents=True, exist_ok=True)
    reasons = []
    for kind in kinds:
        why = _mount(path, mib, kind)
        if why is None:
            break
        reasons.append(why)
    else:
        raise RuntimeError("; ".join(reasons))
    try:
        yield kind
    finally:
        _run("umount", "-l", str(path))
        path.with_name(path.name + ".img").unlink(missing_ok=True)


def free_bytes(path: Path) -> int:
    return shutil.disk_usage(path).free


def fill_up(mount: Path, leave: int) -> None:
    """Write a ballast file so that about `leave` bytes stay free."""
    size = max(0, free_bytes(mount) - leave)
    with open(mount / BALLAST, "wb") as f:
        block = b"\xa5" * (1 << 20)
        while size > 0:
            n = min(size, len(block))
            try:
                f.write(block[:n])
                f.flush()
            except OSError:
                break
            size -= n


def files_under(folder: Path) -> list[str]:
    if not folder.exists():
        return []
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def _error(exc: BaseException) -> dict[str, Any]:
    from crewchief.errors import CrewchiefError

    return {
        "type": type(exc).__name__,
        "typed": isinstance(exc, CrewchiefError),
        "message": str(exc)[:400],
        "hint": getattr(exc, "hint", None),
    }


def snapshot_on_full_disk(mount: Path, stage: str) -> dict[str, Any]:
    from qdrant_client import models

    from crewchief import Engine
    from crewchief.fsutil import disk_usage
    from tests.faults.scenarios import make_points

    data = mount / "data"
    engine = Engine(data, auto_optimize=False)
    engine.create_collection(
        "c", vectors_config=models.VectorParams(size=128, distance=models.Distance.COSINE)
    )
    points = make_points(range(3000), 128)
    for start in range(0, len(points), 500):
        engine.upsert("c", points[start : start + 500])
    col = engine.collection("c")
    col.flush()  # so that the attempt below allocates nothing but the snapshot's own files
    shard = disk_usage(col.shard_dir)
    fill_up(mount, 64 * 1024 if stage == "copy" else shard + 512 * 1024)
    report: dict[str, Any] = {"shard_bytes": shard, "free_before": free_bytes(mount)}
    try:
        engine.create_snapshot("c")
        report["error"] = None
    except Exception as exc:  # what kind of error it is is the finding
        report["error"] = _error(exc)
    report["free_after"] = free_bytes(mount)
    report["listed"] = [s.name for s in engine.list_snapshots("c")]
    report["leftovers"] = files_under(data / "snapshots") + files_under(data / "tmp")
    report["count_while_full"] = engine.count("c").count
    report["retrieve_while_full"] = [r.id for r in engine.retrieve("c", [7, 2999])]
    hits = engine.query_points("c", query=points[7].vector, limit=1).points
    report["query_score_while_full"] = round(hits[0].score, 4) if hits else None
    (mount / BALLAST).unlink()
    engine.upsert("c", make_points(range(3000, 3010), 128))
    snap = engine.create_snapshot("c")
    digest = hashlib.sha256(engine.snapshot_file("c", snap.name).read_bytes()).hexdigest()
    report["snapshot_after_freeing"] = digest == snap.checksum
    engine.close()
    with Engine(data) as reopened:
        report["count_after_reopen"] = reopened.count("c").count
    return report


if __name__ == "__main__":
    print(json.dumps(snapshot_on_full_disk(Path(sys.argv[2]), sys.argv[3])))

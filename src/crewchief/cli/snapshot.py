"""`crewchief snapshot ...` and `crewchief optimize`: the raw moves, on any target."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from crewchief.cli.common import (
    ApiKeyOpt,
    JsonOpt,
    TargetOpt,
    connect,
    friendly_errors,
    lazy,
    out,
    print_json,
)

if TYPE_CHECKING:
    from crewchief.core.client import created
else:
    created = lazy("crewchief.core.client", "created")

app = typer.Typer(help="Collection snapshots: create, list, download, restore, delete.")


@app.command()
@friendly_errors
def create(
    collection: str, target: str = TargetOpt, api_key: str = ApiKeyOpt, as_json: bool = JsonOpt
) -> None:
    """Snapshot COLLECTION (one file with a SHA-256 checksum)."""
    with connect(target, api_key) as tgt:
        snap = created(tgt.client.create_snapshot(collection), collection)
    if as_json:
        print_json(snap.model_dump(mode="json"))
    else:
        out.print(f"{snap.name}  {snap.size} bytes  sha256 {snap.checksum}", highlight=False)


@app.command("list")
@friendly_errors
def list_(
    collection: str, target: str = TargetOpt, api_key: str = ApiKeyOpt, as_json: bool = JsonOpt
) -> None:
    """Snapshots of COLLECTION."""
    with connect(target, api_key) as tgt:
        snaps = tgt.client.list_snapshots(collection)
    if as_json:
        print_json([s.model_dump(mode="json") for s in snaps])
        return
    table = Table()
    for col in ("name", "created", "size", "sha256"):
        table.add_column(col)
    for s in snaps:
        table.add_row(s.name, str(s.creation_time), str(s.size), s.checksum or "")
    out.print(table)


@app.command()
@friendly_errors
def download(
    collection: str,
    name: str,
    dest: Path = typer.Option(Path("."), "--dest", help="Folder or file to write."),
    target: str = TargetOpt,
    api_key: str = ApiKeyOpt,
) -> None:
    """Copy snapshot NAME of COLLECTION to this machine."""
    path = dest / name if dest.is_dir() else dest
    with connect(target, api_key) as tgt:
        tgt.download_snapshot(collection, name, path)
    out.print(str(path))


@app.command()
@friendly_errors
def restore(
    file: Path,
    collection: str = typer.Option(..., "--as", help="Collection to restore into."),
    checksum: str = typer.Option(None, "--checksum", help="Expected SHA-256."),
    target: str = TargetOpt,
    api_key: str = ApiKeyOpt,
) -> None:
    """Restore a local snapshot FILE into a collection (new, or replacing its data)."""
    with connect(target, api_key) as tgt:
        tgt.upload_snapshot(collection, file, checksum)
        count = tgt.client.count(collection, exact=True).count
    out.print(f"restored `{collection}`: {count} points")


@app.command()
@friendly_errors
def delete(collection: str, name: str, target: str = TargetOpt, api_key: str = ApiKeyOpt) -> None:
    """Delete snapshot NAME of COLLECTION."""
    with connect(target, api_key) as tgt:
        tgt.client.delete_snapshot(collection, name)
    out.print(f"deleted {name}")


@friendly_errors
def optimize(collection: str, target: str = TargetOpt, api_key: str = ApiKeyOpt) -> None:
    """Build COLLECTION's index now and wait until it is green (or red)."""
    import time

    from qdrant_client import models

    with connect(target, api_key) as tgt:
        tgt.optimize(collection)
        while True:
            info = tgt.client.get_collection(collection)
            if info.status in (models.CollectionStatus.GREEN, models.CollectionStatus.RED):
                break
            time.sleep(0.2)
    out.print(
        f"`{collection}` is {info.status.value}: "
        f"{info.indexed_vectors_count} of {info.points_count} vectors indexed"
    )

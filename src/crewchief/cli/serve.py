"""`crewchief serve`: the Qdrant-compatible REST and gRPC server over a data directory.

Registered in cli/main.py as `app.command("serve")(friendly_errors(serve))`:
expected failures (DataDirLocked, a port in use) print one line and a hint.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from crewchief.cli.common import lazy

if TYPE_CHECKING:
    from crewchief.server.runner import run_server
else:
    run_server = lazy("crewchief.server.runner", "run_server")


def serve(
    data: Path = typer.Option(
        ..., "--data", help="Data directory of the embedded engine (created if missing)."
    ),
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Address to bind; anything but loopback wants --api-key."
    ),
    port: int = typer.Option(6333, "--port", help="TCP port; 0 lets the OS pick a free one."),
    grpc_port: str | None = typer.Option(
        None,
        "--grpc-port",
        help="Qdrant's gRPC API: a port (default 6334; OS-picked with --port 0), "
        "`auto` (the OS picks) or 0 (off).",
        show_default=False,
    ),
    api_key: str | None = typer.Option(
        None, "--api-key", envvar="CREWCHIEF_API_KEY", help="Key for full access."
    ),
    read_only_api_key: str | None = typer.Option(
        None,
        "--read-only-api-key",
        envvar="CREWCHIEF_READ_ONLY_API_KEY",
        help="Key that may only read.",
    ),
    jwt_rbac: bool = typer.Option(
        False,
        "--jwt-rbac",
        envvar="CREWCHIEF_JWT_RBAC",
        help="Accept JWTs signed (HS256) with the API key, granting the access they name.",
    ),
    tls_cert: Path | None = typer.Option(
        None, "--tls-cert", envvar="CREWCHIEF_TLS_CERT", help="PEM certificate: serve HTTPS."
    ),
    tls_key: Path | None = typer.Option(
        None, "--tls-key", envvar="CREWCHIEF_TLS_KEY", help="PEM private key of --tls-cert."
    ),
    repo: str | None = typer.Option(
        None,
        "--repo",
        envvar="CREWCHIEF_REPO",
        help="Backup repository (path, file:// or s3://) the dashboard's backups page shows.",
    ),
) -> None:
    """Serve Qdrant's REST API (and its gRPC API, on 6334) over DATA, for qdrant-client,
    curl and other SDKs; the dashboard is at /dashboard."""
    run_server(
        data,
        host=host,
        port=port,
        api_key=api_key,
        read_only_api_key=read_only_api_key,
        repo_url=repo,
        jwt_rbac=jwt_rbac,
        tls_cert=tls_cert,
        tls_key=tls_key,
        grpc_port=grpc_port,
    )

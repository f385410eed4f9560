"""Run the server, REST and gRPC: open the engine, bind, serve, shut down cleanly.

Shared by `crewchief serve` and `python -m crewchief.server`.  The socket is
bound before uvicorn starts so `--port 0` works: the OS picks a free port
and we print the real one, once the server accepts connections:

    crewchief serve: gRPC listening on grpc://127.0.0.1:43118
    crewchief serve: listening on http://127.0.0.1:43117

With `tls_cert` and `tls_key` (PEM files) it serves HTTPS only, and says
`https://`.

Qdrant's gRPC API (server/grpc/) runs beside it over the same engine, on
`grpc_port` (6334; with `--port 0` the OS picks a port for it too; 0 turns it off).
SIGTERM and SIGINT stop accepting, let running requests and background
snapshot work finish, then close the engine (flushing it) and exit 0.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import ssl
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn

from crewchief.core.keys import ApiKeys
from crewchief.errors import InvalidInput
from crewchief.malloc import limit_malloc_arenas
from crewchief.server.app import create_app
from crewchief.server.grpc import GrpcMetrics
from crewchief.server.grpc.server import GrpcServer
from crewchief.server.uploads import DEFAULT_MAX_UPLOAD_BYTES

LISTENING = "crewchief serve: listening on {url}"
GRPC_LISTENING = "crewchief serve: gRPC listening on {url}"
GRPC_PORT = 6334  # Qdrant's


def grpc_bind_port(grpc_port: int | str | None, rest_port: int) -> int | None:
    """Where gRPC listens: None (off: `0`), 0 (the OS picks: `auto`, or by default when
    the REST port is OS-picked too) or a port (default 6334, as Qdrant)."""
    if grpc_port is None:
        return 0 if rest_port == 0 else GRPC_PORT
    raw = str(grpc_port).strip().lower()
    if raw == "auto":
        return 0
    if not raw.isdigit() or int(raw) > 65535:
        raise InvalidInput(
            f"--grpc-port must be a port number, `auto` or 0 (off), got {grpc_port!r}"
        )
    return int(raw) or None


def upload_limit_from_env() -> int:
    raw = os.environ.get("CREWCHIEF_MAX_UPLOAD_BYTES", "")
    if not raw:
        return DEFAULT_MAX_UPLOAD_BYTES
    if not raw.isdigit() or int(raw) < 1:
        raise InvalidInput(
            f"CREWCHIEF_MAX_UPLOAD_BYTES must be a positive number of bytes, got {raw!r}"
        )
    return int(raw)


def env_flag(name: str) -> bool:
    """A yes/no setting from the environment (`true`, `1`, `yes`, `on`: yes)."""
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def insecure_warning(host: str) -> str:
    return (
        "\n"
        f"!!! WARNING: crewchief serve is listening on {host} WITHOUT an API key.\n"
        "!!! Anyone who can reach this address can read, change and delete every collection.\n"
        "!!! Set --api-key (or CREWCHIEF_API_KEY), or bind to 127.0.0.1.\n"
    )


def bind_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to host:port (port 0: the OS picks one)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise _cannot_listen(host, port, exc) from None
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise _cannot_listen(host, port, exc) from None
    return sock


def _cannot_listen(host: str, port: int, exc: OSError) -> InvalidInput:
    return InvalidInput(
        f"Cannot listen on {host}:{port}: {exc.strerror or exc}",
        hint="Choose another --host or --port (--port 0 lets the OS pick a free one)",
    )


def url_for(host: str, sock: socket.socket, scheme: str = "http", port: int | None = None) -> str:
    """The URL of `sock` (or of `port` on the same host)."""
    port = sock.getsockname()[1] if port is None else port
    shown = host.strip("[]")
    if ":" in shown:
        shown = f"[{shown}]"
    return f"{scheme}://{shown}:{port}"


def check_tls(tls_cert: Path | None, tls_key: Path | None) -> None:
    """Both or neither, readable, and a key that belongs to the certificate."""
    if tls_cert is None and tls_key is None:
        return
    if tls_cert is None or tls_key is None:
        given, missing = ("--tls-cert", "--tls-key") if tls_cert else ("--tls-key", "--tls-cert")
        raise InvalidInput(
            f"{given} needs {missing}", hint="Pass both the certificate and its private key (PEM)"
        )
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(tls_cert, tls_key)
    except (OSError, ssl.SSLError) as exc:
        raise InvalidInput(
            f"Cannot use the TLS certificate {tls_cert} with key {tls_key}: {exc}",
            hint="Both must be PEM files, the key the certificate's own",
        ) from None


def local_url(url: str) -> str:
    """The URL a process on this machine should use (a wildcard bind is reachable on loopback)."""
    return url.replace("//0.0.0.0:", "//127.0.0.1:").replace("//[::]:", "//[::1]:")


class _Server(uvicorn.Server):
    """uvicorn with a "listening" line after start-up and an engine close at the end."""

    def __init__(
        self, config: uvicorn.Config, on_started: Callable[[], None], on_stopped: Callable[[], None]
    ) -> None:
        super().__init__(config)
        self._on_started = on_started
        self._on_stopped = on_stopped

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and not self.should_exit:
            self._on_started()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await super().shutdown(sockets=sockets)
        await asyncio.get_running_loop().run_in_executor(None, self._on_stopped)
        # a graceful stop on SIGTERM/SIGINT is a normal exit, not a death by signal
        captured = getattr(self, "_captured_signals", None)
        if isinstance(captured, list):
            captured.clear()


def run_server(
    data: Path,
    host: str = "127.0.0.1",
    port: int = 6333,
    api_key: str | None = None,
    read_only_api_key: str | None = None,
    max_upload_bytes: int | None = None,
    out: Any = None,
    err: Any = None,
    repo_url: str | None = None,
    jwt_rbac: bool = False,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
    grpc_port: int | str | None = None,
) -> None:
    """Serve `data` until SIGTERM/SIGINT.  Raises CrewchiefError (e.g. DataDirLocked).

    `jwt_rbac`: JWTs signed with `api_key` grant the access they name (needs `api_key`).
    `tls_cert`/`tls_key`: serve HTTPS with this certificate and private key.
    `grpc_port`: see `grpc_bind_port` (default 6334, OS-picked when `port` is 0).

    The upload limit defaults to CREWCHIEF_MAX_UPLOAD_BYTES, else 64 GiB.
    `repo_url` is the backup repository the dashboard shows (else none).
    """
    from crewchief import Engine

    limit_malloc_arenas()  # before the server starts its threads
    if max_upload_bytes is None:
        max_upload_bytes = upload_limit_from_env()
    out = out or sys.stdout
    err = err or sys.stderr
    if jwt_rbac and not api_key:
        raise InvalidInput(
            "--jwt-rbac needs --api-key: tokens are signed with it",
            hint="Set --api-key (or CREWCHIEF_API_KEY) too",
        )
    check_tls(tls_cert, tls_key)
    # a read-only key alone closes the server too: then nobody may write (auth.py)
    if not (api_key or read_only_api_key) and not is_loopback(host):
        print(insecure_warning(host), file=err, flush=True)
    grpc_bind = grpc_bind_port(grpc_port, port)
    engine = Engine(data)
    closed = False
    grpc_server: GrpcServer | None = None

    def close_engine() -> None:
        nonlocal closed
        if not closed:
            closed = True
            if grpc_server is not None:
                grpc_server.stop(grace=30)  # running RPCs finish before the engine closes
            engine.close()

    try:
        sock = bind_socket(host, port)
        url = url_for(host, sock, "https" if tls_cert else "http")
        engine.set_owner_url(local_url(url))
        app = create_app(
            engine,
            api_key=api_key,
            read_only_api_key=read_only_api_key,
            max_upload_bytes=max_upload_bytes,
            repo_url=repo_url,
            jwt_rbac=jwt_rbac,
        )
        tls: dict[str, Any] = {}
        if tls_cert and tls_key:
            tls = {"ssl_certfile": str(tls_cert), "ssl_keyfile": str(tls_key)}
        grpc_url = None
        if grpc_bind is not None:
            grpc_metrics = GrpcMetrics()
            grpc_server = GrpcServer(
                engine,
                ApiKeys(api_key, read_only_api_key),
                grpc_metrics,
                on_snapshot=app.state.metrics.snapshot_created,
            )
            bound = grpc_server.start(host, grpc_bind)
            grpc_url = url_for(host, sock, "grpc", bound)
            app.state.grpc_metrics = grpc_metrics  # /metrics and /telemetry count gRPC too
        config = uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=30,
            server_header=False,
            **tls,
        )

        def announce() -> None:
            if grpc_url is not None:
                print(GRPC_LISTENING.format(url=grpc_url), file=out, flush=True)
            print(LISTENING.format(url=url), file=out, flush=True)

        _Server(config, on_started=announce, on_stopped=close_engine).run(sockets=[sock])
    finally:
        close_engine()

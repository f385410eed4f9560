"""`crewchief dashboard`: the web dashboard, on this machine, for any target.

`crewchief serve` has the dashboard built in; this command is for a target it
does not serve: a Qdrant server or cluster (`--target http://...`) or a data
directory.  It runs a small local web server over the same ops layer:

    crewchief dashboard --target https://qdrant.example:6333 --api-key KEY
    crewchief dashboard: open http://127.0.0.1:8080/dashboard/

Registered in cli/main.py as `app.command("dashboard")(friendly_errors(dashboard))`;
`python -m crewchief.cli.dashboard` runs it alone.  The local server has no
keys of its own: the target's key decides what the dashboard may change, and
it binds to loopback unless told otherwise.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer

from crewchief.cli.common import ApiKeyOpt, TargetOpt, connect, err, friendly_errors, lazy, out

if TYPE_CHECKING:
    import uvicorn

    from crewchief.dashboard import Dashboard, standalone_app
    from crewchief.server.runner import _Server, bind_socket, is_loopback, url_for
else:
    uvicorn = lazy("uvicorn")
    Dashboard = lazy("crewchief.dashboard", "Dashboard")
    standalone_app = lazy("crewchief.dashboard", "standalone_app")
    _Server = lazy("crewchief.server.runner", "_Server")
    bind_socket = lazy("crewchief.server.runner", "bind_socket")
    is_loopback = lazy("crewchief.server.runner", "is_loopback")
    url_for = lazy("crewchief.server.runner", "url_for")

LISTENING = "crewchief dashboard: open {url}/dashboard/"


def dashboard(
    target: str = TargetOpt,
    api_key: str | None = ApiKeyOpt,
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Address to bind; the page can change aliases and snapshots."
    ),
    port: int = typer.Option(8080, "--port", help="TCP port; 0 lets the OS pick a free one."),
    repo: str | None = typer.Option(
        None,
        "--repo",
        envvar="CREWCHIEF_REPO",
        help="Backup repository (path, file:// or s3://) for the backups page.",
    ),
) -> None:
    """Open the web dashboard for TARGET (health, aliases, snapshots, backups)."""
    if not is_loopback(host):
        err.print(
            f"[yellow]warning:[/] the dashboard on {host} has no key of its own: anyone who "
            "reaches it can do what the target's key allows",
            highlight=False,
        )
    tgt = connect(target, api_key)
    try:
        sock = bind_socket(host, port)
        url = url_for(host, sock)
        app = standalone_app(Dashboard(tgt, repo_url=repo))
        config = uvicorn.Config(
            app, log_level="warning", access_log=False, lifespan="on", server_header=False
        )

        def announce() -> None:
            out.print(LISTENING.format(url=url), highlight=False, soft_wrap=True)
            sys.stdout.flush()

        _Server(config, on_started=announce, on_stopped=lambda: None).run(sockets=[sock])
    finally:
        tgt.close()


if __name__ == "__main__":
    typer.run(friendly_errors(dashboard))

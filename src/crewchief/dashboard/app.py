"""The dashboard as an ASGI app: the page, its assets and its JSON API over one Target.

    board = Dashboard(EmbeddedTarget.around(engine), repo_url="s3://backups/qdrant")
    Mount("/dashboard", app=board.app)          # inside crewchief serve
    async with board.running(): ...             # the background sampler

`crewchief serve` mounts it beside Qdrant's REST API (its keys apply);
`crewchief dashboard` runs `standalone_app(board)` against a remote Qdrant.
The assets are files of this package (no CDN, no build step): the machine
running the dashboard may have no internet, and neither may the browser.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from crewchief.dashboard import api
from crewchief.dashboard.history import History, Sampler, sample_seconds_from_env
from crewchief.dashboard.repoview import RepoView
from crewchief.ops.health import HealthPolicy
from crewchief.target import Target

PREFIX = "/dashboard"


def _page() -> str:
    return resources.files("crewchief.dashboard").joinpath("static/index.html").read_text("utf-8")


async def index(request: Request) -> Response:
    """The HTML shell, told where it is mounted (its links and API calls are relative)."""
    base = request.scope.get("root_path", "").rstrip("/") + "/"
    html = _page().replace("{{base}}", base)
    return HTMLResponse(html, headers={"Cache-Control": "no-cache"})


class Dashboard:
    """One target, an optional backup repository, and the history sampled from them."""

    def __init__(
        self,
        target: Target,
        repo_url: str | None = None,
        *,
        sample_seconds: float | None = None,
        policy: HealthPolicy | None = None,
    ) -> None:
        self.target = target
        self.repo = RepoView(repo_url) if repo_url else None
        self.policy = policy or HealthPolicy()
        self.history = History(sample_seconds or sample_seconds_from_env())
        self.sampler = Sampler(self.history, target)
        static = StaticFiles(packages=[("crewchief.dashboard", "static")])
        self.app = Starlette(
            routes=[
                Route("/", index, methods=["GET"]),
                Mount("/static", app=static),
                *api.routes,
            ]
        )
        self.app.state.dashboard = self

    def mount(self) -> Mount:
        return Mount(PREFIX, app=self.app)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Dashboard]:
        """Sample in the background while the server runs."""
        self.sampler.start()
        try:
            yield self
        finally:
            await self.sampler.stop()


def standalone_app(board: Dashboard) -> Starlette:
    """The dashboard alone (`crewchief dashboard`): `/` leads to `/dashboard/`."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with board.running():
            yield

    async def home(request: Request) -> Response:
        return RedirectResponse(PREFIX + "/")

    return Starlette(routes=[Route("/", home), board.mount()], lifespan=lifespan)

"""The dashboard in a real headless browser: Debian's chromium, driven by Playwright.

`make browser` (a dependency of `make unit`) installs chromium; Playwright's own
browser download is never used.  These tests do what an operator does: watch a
collection's card turn from yellow to green, switch an alias through the
confirm dialog, and find that the read-only key cannot.

The overview test takes a screenshot into its tmp_path; it replaces the one in
docs/img only when asked (`CREWCHIEF_UPDATE_SCREENSHOT=1 .venv/bin/python -m
pytest tests/dashboard/test_browser.py -k yellow_to_green`).
"""

from __future__ import annotations

import os
import shutil
import struct
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from qdrant_client import QdrantClient, models

from crewchief.backup.repository import Repository
from crewchief.backup.schedule import Job, Scheduler
from crewchief.datasets import movie_payload
from tests.dashboard.conftest import (
    FULL_KEY,
    NIGHTLY,
    READ_ONLY_KEY,
    V1,
    V2,
    aliases_of,
    point_alias,
    start_standalone,
)
from tests.server.serverproc import ServerProcess

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "img" / "dashboard-overview.png"
WIDTH, HEIGHT = 1280, 860  # the viewport


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's header (its IHDR chunk comes first)."""
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR", head
    width, height = struct.unpack(">II", head[16:24])
    return width, height


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not shutil.which("chromium") and not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: run `make browser` (make unit does)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    context.close()
    assert not errors, f"JavaScript errors in the page: {errors}"


def open_dashboard(page: Page, board: ServerProcess, key: str, where: str = "") -> None:
    page.goto(f"{board.url}/dashboard/{where}")
    page.fill("#key-input", key)
    page.click("#key-form button[type=submit]")
    expect(page.locator("#key-state")).to_have_text("API key set")


def test_overview_card_turns_from_yellow_to_green(
    page: Page, board: ServerProcess, client: QdrantClient, world: dict[str, str], tmp_path: Path
) -> None:
    open_dashboard(page, board, FULL_KEY)
    expect(page.locator(f'.card[data-collection="{V1}"]')).to_have_attribute("data-status", "green")
    page.evaluate("window.notReloaded = true")
    # a small indexing threshold: the upsert starts an index build (held 5 s by the fixture)
    name = "catalog_v3"
    client.create_collection(
        name,
        vectors_config=models.VectorParams(size=32, distance=models.Distance.COSINE),
        optimizers_config=models.OptimizersConfigDiff(indexing_threshold=10),
    )
    n = 5000
    vectors = np.random.default_rng(3).random((n, 32)).tolist()
    payloads = [movie_payload(i) for i in range(n)]
    client.upsert(name, models.Batch(ids=list(range(n)), vectors=vectors, payloads=payloads))
    card = page.locator(f'.card[data-collection="{name}"]')
    expect(card).to_have_attribute("data-status", "yellow", timeout=15_000)
    expect(card).to_have_attribute("data-status", "green", timeout=90_000)
    expect(card.locator('[data-field="indexed"]')).to_contain_text("100%")
    assert page.evaluate("window.notReloaded") is True  # polled, never reloaded
    page.wait_for_timeout(1500)  # a few more samples on the charts
    shot = tmp_path / SCREENSHOT.name
    page.screenshot(path=str(shot), full_page=True)
    width, height = png_size(shot)
    assert width == WIDTH and height >= HEIGHT  # the whole page
    assert shot.stat().st_size > 20_000  # cards and charts, not a blank page (a few KB)
    if os.environ.get("CREWCHIEF_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(shot, SCREENSHOT)


def test_switch_an_alias_with_the_confirm_dialog(
    page: Page, board: ServerProcess, client: QdrantClient, world: dict[str, str], alias_name: str
) -> None:
    point_alias(client, alias_name, V1)
    open_dashboard(page, board, FULL_KEY, "#/aliases")
    page.fill("#switch-alias", alias_name)
    page.select_option("#switch-collection", V2)

    page.click("#switch-form button[type=submit]")  # first: change of mind
    expect(page.locator("#confirm")).to_be_visible()
    page.click("#confirm-cancel")
    expect(page.locator("#confirm")).to_be_hidden()
    assert aliases_of(client)[alias_name] == V1

    page.click("#switch-form button[type=submit]")
    dialog = page.locator("#confirm")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(f"was {V1}")
    page.click("#confirm-ok")
    newest = page.locator("#history li").first
    expect(newest).to_have_attribute("data-alias", alias_name)
    expect(newest).to_have_attribute("data-new", V2)
    row = page.locator(f'#aliases tr[data-alias="{alias_name}"] [data-field="collection"]')
    expect(row).to_have_text(V2)
    assert aliases_of(client)[alias_name] == V2

    page.click(f'#aliases tr[data-alias="{alias_name}"] button')  # roll back
    expect(page.locator("#confirm")).to_contain_text("rollback")
    page.click("#confirm-ok")
    expect(row).to_have_text(V1)
    assert aliases_of(client)[alias_name] == V1


def test_the_read_only_key_cannot_switch(
    page: Page, board: ServerProcess, client: QdrantClient, world: dict[str, str], alias_name: str
) -> None:
    point_alias(client, alias_name, V1)
    open_dashboard(page, board, READ_ONLY_KEY, "#/aliases")
    expect(page.locator(f'#aliases tr[data-alias="{alias_name}"]')).to_be_visible()
    page.fill("#switch-alias", alias_name)
    page.select_option("#switch-collection", V2)
    page.click("#switch-form button[type=submit]")
    expect(page.locator("#confirm")).to_be_visible()  # reading the plan is allowed
    page.click("#confirm-ok")
    banner = page.locator("#banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("403")
    expect(banner).to_contain_text("Global manage access is required")  # Qdrant's text
    assert aliases_of(client)[alias_name] == V1
    expect(page.locator(f'#history li[data-alias="{alias_name}"]')).to_have_count(1)  # create only


def test_collection_page_search_and_snapshot(
    page: Page, board: ServerProcess, client: QdrantClient, world: dict[str, str]
) -> None:
    open_dashboard(page, board, FULL_KEY, f"#/collection/{V2}")
    page.click("text=Random point's vector")
    rows = page.locator("#search-results tbody tr")
    expect(rows).to_have_count(10)
    expect(page.locator("#search-vector")).not_to_have_value("")
    names_before = {s.name for s in client.list_snapshots(V2)}
    before = len(names_before)
    page.click("#snapshot-create")
    page.click("#confirm-ok")
    expect(page.locator("#snapshots tbody tr")).to_have_count(before + 1)
    assert len(client.list_snapshots(V2)) == before + 1
    expect(page.locator("#config")).to_contain_text('"size": 16')

    (made,) = {s.name for s in client.list_snapshots(V2)} - names_before
    page.click(f'#snapshots tr[data-snapshot="{made}"] button.danger')
    expect(page.locator("#confirm")).to_contain_text(f"Delete snapshot {made}?")
    page.click("#confirm-ok")
    expect(page.locator(f'#snapshots tr[data-snapshot="{made}"]')).to_have_count(0)
    expect(page.locator("#notice")).to_contain_text(f"Snapshot {made} deleted")
    assert made not in {s.name for s in client.list_snapshots(V2)}


def test_backups_page_shows_each_jobs_schedule_and_next_run(
    page: Page, board: ServerProcess, world: dict[str, str]
) -> None:
    open_dashboard(page, board, READ_ONLY_KEY, "#/backups")
    row = page.locator('#schedules tr[data-job="nightly"]')
    schedule = row.locator('[data-field="schedule"]')
    for action, expr in NIGHTLY.items():
        expect(schedule.locator(f'[data-action="{action}"]')).to_have_text(f"{action}: {expr}")
        next_run = row.locator(f'[data-field="next-run"] [data-action="{action}"]')
        expect(next_run).to_contain_text(f"{action}: ")
        expect(next_run).not_to_contain_text("overdue")
    expect(schedule.locator('[data-action="forget"]')).to_have_count(0)  # not in the job


def test_backups_page_reads_old_state_files_and_flags_overdue_runs(
    page: Page, board: ServerProcess, tmp_path: Path
) -> None:
    """The standalone dashboard over a repository of its own: one state file from before
    the plan was recorded, one job whose scheduler stopped long ago."""
    repo_url = str(tmp_path / "backups")
    repo = Repository.open(repo_url, create=True)
    repo.put_record(
        "schedule/old.json", {"job": "old", "last_success": {"create": "2026-01-02T03:00:00+00:00"}}
    )
    stopped = Job("stopped", board.url, repo_url, create="0 3 * * *")
    Scheduler([stopped], now=datetime(2020, 1, 1, tzinfo=UTC)).publish()
    proc = start_standalone(board, FULL_KEY, Path(repo_url))
    try:
        page.goto(f"{proc.url}/dashboard/#/backups")
        old = page.locator('#schedules tr[data-job="old"]')
        expect(old.locator('[data-field="schedule"]')).to_have_text("not recorded")
        expect(old.locator('[data-field="next-run"]')).to_have_text("-")
        expect(old).to_contain_text("forget: never")  # its last successes are still shown
        expect(old).not_to_contain_text("create: never")
        late = page.locator(
            '#schedules tr[data-job="stopped"] [data-field="next-run"] [data-action="create"]'
        )
        expect(late).to_contain_text("(overdue)")
        expect(late).to_have_class("bad")
    finally:
        proc.stop()


def test_collection_page_shows_every_vector_kind(
    page: Page, board: ServerProcess, world: dict[str, str], hybrid: str
) -> None:
    open_dashboard(page, board, READ_ONLY_KEY, f"#/collection/{hybrid}")
    expect(page.locator("#vectors tbody tr")).to_have_count(6)
    expect(page.locator('#vectors tr[data-vector="colbert"]')).to_contain_text("max_sim")
    expect(page.locator('#vectors tr[data-vector="text"]')).to_contain_text("modifier idf")
    expect(page.locator('#vectors tr[data-vector="half"]')).to_contain_text("float16")
    expect(page.locator("#quantization")).to_contain_text('"type":"int8"')
    expect(page.locator("#search-using option")).to_have_count(3)  # dense single vectors only
    page.select_option("#search-using", "half")
    page.click("text=Random point's vector")
    expect(page.locator("#search-results tbody tr")).to_have_count(10)

"""The dashboard in a real headless browser: Debian's chromium, driven by Playwright.

`make browser` (a dependency of `make unit`) installs chromium; Playwright's own
browser download is never used.  These tests do what an operator does: watch a
collection's card turn from yellow to green, switch an alias through the
confirm dialog, and find that the read-only key cannot.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from qdrant_client import QdrantClient, models

from crewchief.datasets import movie_payload
from tests.dashboard.conftest import FULL_KEY, READ_ONLY_KEY, V1, V2, aliases_of, point_alias
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
    context = browser.new_context(viewport={"width": 1280, "height": 860})
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
    page: Page, board: ServerProcess, client: QdrantClient, world: dict[str, str]
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
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)


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
    expect(banner).to_contain_text("read-only")
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
    before = len(client.list_snapshots(V2))
    page.click("#snapshot-create")
    page.click("#confirm-ok")
    expect(page.locator("#snapshots tbody tr")).to_have_count(before + 1)
    assert len(client.list_snapshots(V2)) == before + 1
    expect(page.locator("#config")).to_contain_text('"size": 16')

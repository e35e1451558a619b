"""The Dagster UI served by ``precog dev``, driven in a real browser as a new user would.

The tour: the asset graph as the UI opens it (groups collapsed); the kalshi_markets materialized by a click; the
current edges (their best-edges table and plots) and the open positions (marks, unrealized P&L,
plots) once the loop has traded; an Elo backfill of a season range launched from the
``elo_ratings`` partition dialog, as one run; the Elo checks, passed; and the Runs page, whose
Target column names each scheduled run's job. The screenshots the
README shows are copied to ``docs/screenshots/``.

Headless Chromium from the distribution (/usr/bin/chromium) through Playwright: no browser is
downloaded. Screenshots and the ``precog dev`` log go to ``artifacts/browser/``; on failure
also ``failure.png``, a Playwright ``trace.zip`` (open with ``playwright show-trace``) and the
browser's ``console.log``. Without Playwright or Chromium the test skips, unless
PRECOG_REQUIRE_BROWSER=1 (as in CI), where it fails instead.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import pytest

from precog_pipelines.lib.settings import repository_root
from precog_pipelines_tests.support.dev_process import DevProcess, free_port

# About 6 minutes on a quiet 2-core machine (the loop to the first positions is most of it); the
# waits below are generous for a loaded one, hence more than pyproject's 600 s default.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = repository_root() / "artifacts" / "browser"
SCREENSHOTS = repository_root() / "docs" / "screenshots"
GROUPS = ["kalshi", "espn", "elo", "edges", "trading", "portfolio", "evaluation"]
ELO_CHECKS = ["follows_previous_ratings", "one_row_per_team_per_game", "ratings_within_bounds",
              "season_brier_score_below_ceiling", "zero_sum_per_game"]
ELO_RANGE, ELO_RANGE_SIZE = "[2020...2025]", 6
STEP_TIMEOUT_MS = 60_000
RUN_TIMEOUT_MS = 300_000  # queued behind the schedules' runs on a busy 2-core machine
# First Elo backfill, edges, then positions: about 2 minutes on a quiet 2-core machine, over 7 when
# other test sessions share its cores.
LOOP_TIMEOUT_SECONDS = 900
# Simulated minutes before the first kickoff. The sandbox clock stays stopped until positions are
# open (or for 300 s at most) and then runs at 90x; games that started have no pre-game edges, so
# the test must see edges and positions before kickoff. With the default 20 minutes that is 13 s
# after the first position; 1440 (a day) gives 960 s, enough for a loaded 2-core machine (exits
# and settlements, which come after kickoff, are covered by other tests).
SANDBOX_LEAD_MINUTES = "1440"
# What the README shows, by the name it has there.
README_SCREENSHOTS = {
    "01-asset-graph.png": "asset-graph.png",
    "03-kalshi-run-success.png": "kalshi-run-success.png",
    "05-edges.png": "edges-best-edges.png",
    "06-positions.png": "positions-marks-pnl.png",
    "06-position-marks.png": "position-marks.png",
    "08-elo-ratings-checks.png": "elo-ratings-checks-passed.png",
}

RUN_STATUS = """
query RunStatus($runId: ID!) {
  runOrError(runId: $runId) { ... on Run { status assetSelection { path } } }
}
"""
LATEST_NUMBERS = """
query LatestNumbers($key: AssetKeyInput!) {
  assetOrError(assetKey: $key) { ... on Asset { assetMaterializations(limit: 1) {
    metadataEntries { label ... on IntMetadataEntry { intValue } } } } }
}
"""
BACKFILL = """
query Backfill($id: String!) {
  partitionBackfillOrError(backfillId: $id) { ... on PartitionBackfill { status runs(limit: 10) { runId status } } }
}
"""


def _sync_playwright_or_skip():
    """Playwright's sync API, or a skip (a failure under PRECOG_REQUIRE_BROWSER=1) saying what is missing."""
    missing = []
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
        missing.append('the playwright package (pip install -e ".[dev]")')
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} (apt-get install chromium)")
    if missing:
        message = "the browser test needs " + " and ".join(missing)
        if os.environ.get("PRECOG_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{message}; PRECOG_REQUIRE_BROWSER=1 forbids skipping it", pytrace=False)
        pytest.skip(message)
    return sync_playwright


def _fresh_artifacts() -> Path:
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    return ARTIFACTS


def test_ui_materializes_the_kalshi_assets_and_shows_their_metadata(tmp_path):
    sync_playwright = _sync_playwright_or_skip()
    from playwright.sync_api import expect

    expect.set_options(timeout=STEP_TIMEOUT_MS)  # a busy 2-core machine renders slowly

    artifacts = _fresh_artifacts()
    dev = DevProcess(tmp_path / "home", free_port(), log_path=artifacts / "precog-dev.log",
                     arguments=("--sandbox-lead", SANDBOX_LEAD_MINUTES))
    console: list[str] = []
    try:
        dev.wait_until_running()
        _skip_the_newsletter_prompt(dev)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
            context = browser.new_context(viewport={"width": 1600, "height": 1000})
            context.set_default_timeout(STEP_TIMEOUT_MS)
            context.tracing.start(screenshots=True, snapshots=True)
            page = context.new_page()
            page.on("console", lambda message: console.append(f"[{message.type}] {message.text}"))
            page.on("pageerror", lambda error: console.append(f"[pageerror] {error}"))
            try:
                _tour(page, expect, dev, artifacts)
            except BaseException:
                _save_failure(page, context, console, artifacts)
                raise
            finally:
                browser.close()
    finally:
        dev.stop()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for taken, shown in README_SCREENSHOTS.items():
        shutil.copyfile(artifacts / taken, SCREENSHOTS / shown)


def _tour(page, expect, dev: DevProcess, artifacts: Path) -> None:
    _asset_graph(page, expect, dev, artifacts)
    _materialize_kalshi_markets(page, expect, dev, artifacts)
    _edges(page, expect, dev, artifacts)
    _positions(page, expect, dev, artifacts)
    _position_marks(page, expect, dev, artifacts)
    _elo_range_backfill(page, expect, dev, artifacts)
    _elo_checks(page, expect, dev, artifacts)
    _runs(page, expect, dev, artifacts)


def _asset_graph(page, expect, dev: DevProcess, artifacts: Path) -> None:
    # As the UI opens it: one node per group, collapsed, each with its assets' statuses.
    page.goto(f"{dev.url}/asset-groups")
    for group in GROUPS:
        expect(page.get_by_text(group, exact=True).first).to_be_visible()
    expect(page.get_by_text(re.compile(r"fetching statuses"))).to_have_count(0)
    page.screenshot(path=artifacts / "01-asset-graph.png", animations="disabled")


def _materialize_kalshi_markets(page, expect, dev: DevProcess, artifacts: Path) -> None:
    # kalshi_markets' page: "Materialize", by a click, confirmed if the UI asks. (The kalshi group's
    # "Materialize all…" now opens the partition dialog of kalshi_candlesticks, daily partitions,
    # and launches a backfill rather than one run.)
    page.goto(f"{dev.url}/assets/kalshi_markets")
    page.get_by_role("button", name=re.compile(r"Materialize$")).first.click()
    confirm = page.get_by_role("button", name="Confirm", exact=True)  # "upstream not materialized yet"
    launched = page.get_by_text(re.compile(r"Launched run [0-9a-f]{8}"))
    dialog = page.get_by_role("dialog").filter(has=page.get_by_role("button", name=re.compile(r"^(Launch|Materialize)")))
    expect(launched.or_(dialog).or_(confirm).first).to_be_visible()
    if confirm.is_visible():
        confirm.click()
        expect(launched.or_(dialog).first).to_be_visible()
    if not launched.is_visible():
        dialog.get_by_role("button", name=re.compile(r"^(Launch|Materialize)")).click()
    expect(launched).to_be_visible()
    toast = page.get_by_role("region", name=re.compile("Notifications"))
    run_path = toast.get_by_role("link", name="View", exact=True).get_attribute("href")
    page.screenshot(path=artifacts / "02-kalshi-materialize-launched.png", animations="disabled")
    run_id = run_path.rsplit("/", 1)[1]

    # The run, until the UI shows it succeeded; the webserver agrees.
    page.goto(f"{dev.url}{run_path}")
    outcome = page.get_by_text(re.compile(r"^(Success|Failure|Canceled)$"))
    expect(outcome.first).to_be_visible(timeout=RUN_TIMEOUT_MS)
    assert outcome.first.inner_text() == "Success", f"run {run_id} ended {outcome.first.inner_text()}"
    run = dev.graphql(RUN_STATUS, {"runId": run_id})["runOrError"]
    assert run["status"] == "SUCCESS"
    assert sorted(key["path"][-1] for key in run["assetSelection"]) == ["kalshi_markets"]
    page.screenshot(path=artifacts / "03-kalshi-run-success.png", animations="disabled")

    # kalshi_markets: its row count and the metadata of its latest materialization.
    page.goto(f"{dev.url}/assets/kalshi_markets")
    expect(page.get_by_text("Row count", exact=True).first).to_be_visible()
    for key in ["fetched", "inserted", "closed", "new_tickers", "rejected", "observed_at", "preview"]:
        expect(page.get_by_role("cell", name=key, exact=True).first).to_be_visible()
    expect(page.get_by_text(re.compile(r"^KXNFLGAME-")).first).to_be_visible()  # the preview's tickers
    page.screenshot(path=artifacts / "04-kalshi-markets-asset.png", animations="disabled", full_page=True)


def _edges(page, expect, dev: DevProcess, artifacts: Path) -> None:
    """The current edges, once the loop has found some: the best-edges table and the plots."""
    page.goto("about:blank")  # no UI rendering and polling while the loop works on 2 cores
    _wait_for_number(dev, "edges", "positive_edges")
    page.goto(f"{dev.url}/assets/edges")
    for key in ["edges", "positive_edges", "best_edge", "best_edges"]:
        expect(page.get_by_role("cell", name=key, exact=True).first).to_be_visible()
    for column in ["ticker", "side", "model_probability", "price", "edge", "ev_per_dollar"]:
        expect(page.get_by_text(column, exact=True).first).to_be_visible()
    expect(page.get_by_text(re.compile(r"^KXNFLGAME-")).first).to_be_visible()  # a row of the table
    page.get_by_role("cell", name="best_edges", exact=True).first.scroll_into_view_if_needed()
    page.screenshot(path=artifacts / "05-edges.png", animations="disabled")
    _plots(page, expect, ["best_edge", "positive_edges"])
    page.screenshot(path=artifacts / "05-edges-plots.png", animations="disabled", full_page=True)


def _positions(page, expect, dev: DevProcess, artifacts: Path) -> None:
    """The open positions with their marks and unrealized P&L, exposure, realized P&L, plots."""
    page.goto("about:blank")
    _wait_for_number(dev, "positions", "open_positions")
    page.goto(f"{dev.url}/assets/positions")
    for key in ["open_positions_table", "exposure", "unrealized_pnl", "realized_pnl_to_date", "positions_by_status"]:
        expect(page.get_by_role("cell", name=key, exact=True).first).to_be_visible()
    for column in ["position", "ticker", "entry", "mark", "age"]:
        expect(page.get_by_text(column, exact=True).first).to_be_visible()
    expect(page.get_by_text(re.compile(r"^KXNFLGAME-")).first).to_be_visible()  # an open position
    page.get_by_role("cell", name="open_positions_table", exact=True).first.scroll_into_view_if_needed()
    page.screenshot(path=artifacts / "06-positions.png", animations="disabled")
    _plots(page, expect, ["exposure", "unrealized_pnl", "realized_pnl_to_date"])
    page.screenshot(path=artifacts / "06-positions-plots.png", animations="disabled", full_page=True)


def _position_marks(page, expect, dev: DevProcess, artifacts: Path) -> None:
    """The book as position_exit_sensor last marked it (a materialization the sensor reports):
    every open position with a mark, and the check that says the sensor is marking, passed."""
    page.goto("about:blank")
    _wait_for_number(dev, "position_marks", "marks_changed")
    latest = dev.graphql(LATEST_NUMBERS, {"key": {"path": ["position_marks"]}})["assetOrError"]
    numbers = {e["label"]: e.get("intValue") for e in latest["assetMaterializations"][0]["metadataEntries"]}
    assert numbers["open_positions"] > 0 and numbers["unmarked_positions"] == 0, numbers
    page.goto(f"{dev.url}/assets/position_marks")
    for key in ["open_positions_table", "unrealized_pnl", "marks_changed"]:
        expect(page.get_by_role("cell", name=key, exact=True).first).to_be_visible()
    expect(page.get_by_text(re.compile(r"^KXNFLGAME-")).first).to_be_visible()
    expect(page.get_by_text("not yet", exact=True)).to_have_count(0)
    expect(page.get_by_text("Latest check results", exact=True)).to_be_visible()
    page.screenshot(path=artifacts / "06-position-marks.png", animations="disabled")
    page.goto(f"{dev.url}/assets/position_marks?view=checks")
    expect(page.get_by_text("Checks (1)", exact=True)).to_be_visible()
    expect(page.get_by_text("every_open_position_is_marked", exact=True).first).to_be_attached()
    expect(page.get_by_text("Passed", exact=True).first).to_be_visible()


def _elo_range_backfill(page, expect, dev: DevProcess, artifacts: Path) -> None:
    """Seasons 2020 to 2025 from the partition dialog, after precog dev's own first backfill:
    one backfill, one run (the asset's backfill policy), which succeeds."""
    page.goto("about:blank")
    stored = dev.output.wait_for("Elo ratings from 1920 to the present are stored", LOOP_TIMEOUT_SECONDS)
    assert stored is not None, f"precog dev's first Elo backfill did not succeed:\n{dev.text()[-5000:]}"
    page.goto(f"{dev.url}/assets/elo_ratings")
    page.get_by_role("button", name=re.compile(r"Materialize")).first.click()
    # The UI warns that espn_season_games (observed, never materialized) is upstream; a user confirms.
    dialog = page.get_by_role("dialog").filter(has_text="Partition selection")
    confirm = page.get_by_role("button", name="Confirm", exact=True)
    expect(dialog.or_(confirm).first).to_be_visible()
    if confirm.is_visible():
        confirm.click()
    expect(dialog).to_be_visible()
    seasons = dialog.get_by_placeholder(re.compile(r"^ex: "))
    seasons.fill(ELO_RANGE)
    seasons.press("Enter")
    expect(dialog.get_by_text(f"{ELO_RANGE_SIZE} partitions", exact=True)).to_be_visible()
    expect(dialog.get_by_text("Backfills all partitions in a single run.")).to_be_visible()
    page.screenshot(path=artifacts / "07-elo-backfill-dialog.png", animations="disabled")
    dialog.get_by_role("button", name="Launch backfill", exact=True).click()

    toast = page.get_by_role("region", name=re.compile("Notifications"))
    expect(toast.get_by_text(re.compile(r"Created backfill"))).to_be_visible()
    backfill_path = toast.get_by_role("link", name="View", exact=True).get_attribute("href")
    backfill_id = backfill_path.rsplit("/", 1)[1]
    page.goto("about:blank")
    backfill = _wait_for_backfill(dev, backfill_id)
    assert backfill["status"] == "COMPLETED_SUCCESS", backfill
    assert [run["status"] for run in backfill["runs"]] == ["SUCCESS"], f"not one successful run: {backfill}"
    page.goto(f"{dev.url}{backfill_path}")
    expect(page.get_by_text("2020...2025", exact=True).first).to_be_visible()
    expect(page.get_by_text("100% completed", exact=True).first).to_be_visible()
    page.screenshot(path=artifacts / "07-elo-backfill-success.png", animations="disabled")


def _elo_checks(page, expect, dev: DevProcess, artifacts: Path) -> None:
    """Every Elo check passed for the range just rated: none Skipped, as Dagster once showed them."""
    page.goto(f"{dev.url}/assets/elo_ratings?view=checks")
    expect(page.get_by_text(f"Checks ({len(ELO_CHECKS)})", exact=True)).to_be_visible()
    for check in ELO_CHECKS:  # a long name shows middle-truncated; the full one is in the page
        expect(page.get_by_text(check, exact=True).first).to_be_attached()
    expect(page.get_by_text("Succeeded", exact=True)).to_have_count(len(ELO_CHECKS))
    expect(page.get_by_text("Skipped", exact=True)).to_have_count(0)
    expect(page.get_by_text("Passed", exact=True).first).to_be_visible()  # the selected check's result
    page.screenshot(path=artifacts / "08-elo-ratings-checks.png", animations="disabled")


def _runs(page, expect, dev: DevProcess, artifacts: Path) -> None:
    """The Runs page names what each scheduled run refreshed: its job, in the Target column."""
    page.goto(f"{dev.url}/runs")
    expect(page.get_by_text("Target", exact=True).first).to_be_visible()
    for job in ["kalshi_refresh", "game_states_refresh"]:
        expect(page.get_by_text(job, exact=True).first).to_be_visible()
    page.screenshot(path=artifacts / "09-runs.png", animations="disabled")


def _plots(page, expect, numbers: list[str]) -> None:
    """The metadata's Plots view: one chart per number over the asset's materializations."""
    page.get_by_role("button", name=re.compile(r"Plots$")).first.click()
    for number in numbers:
        expect(page.get_by_text(number, exact=True).first).to_be_visible()
    expect(page.locator("canvas").first).to_be_visible()
    page.get_by_text(numbers[-1], exact=True).first.scroll_into_view_if_needed()


def _wait_for_number(dev: DevProcess, asset: str, label: str) -> int:
    """The asset's latest materialization's ``label`` once it is positive: the loop got that far."""
    deadline = time.monotonic() + LOOP_TIMEOUT_SECONDS
    seen = None
    while time.monotonic() < deadline:
        latest = dev.graphql(LATEST_NUMBERS, {"key": {"path": [asset]}})["assetOrError"]
        for materialization in latest.get("assetMaterializations") or []:
            numbers = {entry["label"]: entry.get("intValue") for entry in materialization["metadataEntries"]}
            seen = numbers.get(label)
            if seen:
                return seen
        time.sleep(3)
    raise AssertionError(f"{asset} never had {label} > 0 within {LOOP_TIMEOUT_SECONDS} s (last {seen}):\n"
                         f"{dev.text()[-5000:]}")


def _wait_for_backfill(dev: DevProcess, backfill_id: str) -> dict:
    deadline = time.monotonic() + RUN_TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        backfill = dev.graphql(BACKFILL, {"id": backfill_id})["partitionBackfillOrError"]
        if backfill["status"] not in ("REQUESTED", "CANCELING"):
            return backfill
        time.sleep(3)
    raise AssertionError(f"backfill {backfill_id} still running after {RUN_TIMEOUT_MS / 1000:.0f} s: {backfill}")


def _skip_the_newsletter_prompt(dev: DevProcess) -> None:
    """Dagster asks a first-time visitor to join its community, at a moment of its choosing; it
    covers the page, and skipping it closes whatever menu was open. Marked seen up front, as the
    Skip button does, it never shows."""
    dev.graphql("mutation { setNuxSeen }")
    assert dev.graphql("{ shouldShowNux }") == {"shouldShowNux": False}


def _save_failure(page, context, console: list[str], artifacts: Path) -> None:
    """What the page looked like, a replayable trace, and the browser console, for the CI artifacts."""
    (artifacts / "console.log").write_text("\n".join(console) + "\n", encoding="utf-8")
    for save in (
        lambda: page.screenshot(path=artifacts / "failure.png", full_page=True),
        lambda: context.tracing.stop(path=artifacts / "trace.zip"),
    ):
        try:
            save()
        except Exception as problem:  # the browser may be what failed; keep what could be saved
            console.append(f"[artifacts] could not save: {problem}")

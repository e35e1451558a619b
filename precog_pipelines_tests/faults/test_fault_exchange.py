"""Exchange faults during a real ingestion run: either everything loads or the run fails clearly
and the warehouse is exactly as it was (issue 6, fault and bad-input suite)."""

from __future__ import annotations

import pytest

from precog_pipelines.sandbox import SandboxServer
from precog_pipelines_tests.support.faults import (
    MARKETS_PATH,
    REFERENCE_ASSETS,
    RETRY_ATTEMPTS,
    SYNTHETIC_MARKETS,
    comparable_dump,
    failed_steps,
    failure_text,
    fault_resources,
    fault_sandbox_config,
    kalshi_markets,
    materialize,
    warehouse_dump,
)

# (kind, options, what the error says): every way the sandbox can fail a request.
FAULTS = {
    "429": ("rate_limit", {}, "HTTP 429: too many requests"),
    "5xx": ("server_error", {"status": 503}, "HTTP 503 internal_server_error"),
    "timeout": ("slow", {"delay_seconds": 1.0}, "no answer within 0.3 s"),
    "reset": ("reset", {}, "connection failed"),
    "truncated": ("truncate", {}, "connection failed"),
    "invalid_json": ("invalid_json", {}, "body is not valid JSON"),
}


@pytest.mark.parametrize("name", FAULTS)
def test_a_transient_fault_within_the_budget_loads_everything(
        name, fault_sandbox, kalshi_key, reference_warehouse_url, fully_loaded_template, dagster_instance):
    kind, options, _ = FAULTS[name]
    # The second markets request (KXSANDBOX, after the NFL page arrived) fails until one attempt is left.
    fault = fault_sandbox.inject(kind, path=MARKETS_PATH, skip=1, count=RETRY_ATTEMPTS - 1, **options)

    result = materialize([kalshi_markets], fault_resources(reference_warehouse_url, fault_sandbox, kalshi_key),
                         dagster_instance)

    assert result.success, failure_text(result)
    assert fault.fired == RETRY_ATTEMPTS - 1
    loaded, clean = comparable_dump(reference_warehouse_url), comparable_dump(fully_loaded_template.url)
    assert len(clean["markets"]) == len(clean["market_tickers"]) > SYNTHETIC_MARKETS and clean["ingestion_rejects"] == []
    assert loaded == clean


@pytest.mark.parametrize("name", FAULTS)
def test_a_fault_beyond_the_retry_budget_fails_clearly_and_changes_nothing(
        name, fault_sandbox, kalshi_key, loaded_warehouse_url, dagster_instance):
    kind, options, says = FAULTS[name]
    fault_sandbox.advance(2 * 3600)  # games under way: a complete snapshot would write new versions
    before = warehouse_dump(loaded_warehouse_url)
    fault = fault_sandbox.inject(kind, path=MARKETS_PATH, skip=1, count=None, probability=1.0, **options)

    result = materialize([kalshi_markets], fault_resources(loaded_warehouse_url, fault_sandbox, kalshi_key),
                         dagster_instance)

    assert not result.success and failed_steps(result) == {"kalshi_markets"}
    message = failure_text(result)
    assert "KalshiRetryError" in message and "GET /trade-api/v2/markets" in message, message
    assert f"gave up after {RETRY_ATTEMPTS} attempt(s)" in message and says in message, message
    assert fault.fired == RETRY_ATTEMPTS
    assert warehouse_dump(loaded_warehouse_url) == before


def test_a_repeating_cursor_fails_the_crawl_before_anything_is_written(kalshi_key, warehouse_url, dagster_instance):
    # 1010 synthetic markets: the KXSANDBOX crawl needs a second page, whose request carries a cursor.
    with SandboxServer(fault_sandbox_config(kalshi_key, extra_markets=1010)) as sandbox:
        resources = fault_resources(warehouse_url, sandbox, kalshi_key)
        assert materialize(REFERENCE_ASSETS, resources, dagster_instance).success
        before = warehouse_dump(warehouse_url)
        fault = sandbox.inject("repeat_cursor", path=MARKETS_PATH)

        result = materialize([kalshi_markets], resources, dagster_instance)

    message = failure_text(result)
    # Each on its own, with what was seen: this test once failed on a loaded machine without saying which.
    assert not result.success, f"the crawl succeeded; the fault fired {fault.fired} time(s)"
    assert fault.fired == 1, (fault.fired, message)
    assert "KalshiPaginationError" in message and "a second time after 2 page(s)" in message, message
    assert warehouse_dump(warehouse_url) == before
    assert before["markets"] == [] and before["market_tickers"] == []

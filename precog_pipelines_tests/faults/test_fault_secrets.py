"""Secrets: with a real key configured, signed calls through Dagster (a clean one, one retried
after 5xx, one refused for a wrong key, one that fails after the call) leave no key material and
no signature in any log line, event, metadata entry, exception or table (issue 6)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import dagster as dg
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from precog_pipelines.defs.kalshi.assets import kalshi_series
from precog_pipelines.defs.trading.assets import account_balance
from precog_pipelines.defs.trading.jobs import settlement_job
from precog_pipelines.resources.sources import KalshiResource
from precog_pipelines.resources.trading import TradingResource
from precog_pipelines_tests.conftest import sandbox_resources, write_private_key
from precog_pipelines_tests.support.faults import KALSHI_ASSETS, failure_text, materialize, warehouse_dump

BALANCE_PATH = "/trade-api/v2/portfolio/balance"


def _key_material(path: Path) -> set[str]:
    """What would give a key away: the PEM, each line of its base64 body, the body in one piece,
    the other PEM flavour, and the private numbers in decimal and hex."""
    pem = path.read_text()
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    pkcs1 = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                              serialization.NoEncryption()).decode()
    needles = {pem.strip(), pkcs1.strip()}
    for text in (pem, pkcs1):
        body = [line for line in text.strip().splitlines() if not line.startswith("-----")]
        needles |= set(body) | {"".join(body)}
    numbers = key.private_numbers()
    for secret in (numbers.d, numbers.p, numbers.q):
        needles |= {str(secret), format(secret, "x")}
    return needles


def _event_log(instance: dg.DagsterInstance, results: list) -> list[str]:
    texts = []
    for result in results:
        texts.append(failure_text(result))
        texts += [dg.serialize_value(entry) for entry in instance.all_logs(result.run_id)]
        for event in result.all_events:
            for materialization in ([event.step_materialization_data.materialization]
                                    if event.is_step_materialization else []):
                texts += [f"{key}={value.value}" for key, value in materialization.metadata.items()]
    return texts


def _files(root: Path) -> list[str]:
    return [path.read_text(errors="replace") for path in root.rglob("*") if path.is_file()]


def test_no_key_material_or_signature_leaves_the_signing_code(
        sandbox, kalshi_key, warehouse_url, private_dagster_instance, caplog, tmp_path_factory):
    caplog.set_level(logging.DEBUG)
    instance = private_dagster_instance
    live = sandbox_resources(warehouse_url, sandbox, kalshi_key, trading_mode="live")
    # Kept out of tmp_path, which is the instance's home, searched below.
    wrong_key = write_private_key(tmp_path_factory.mktemp("wrong_key") / "wrong.pem",
                                  rsa.generate_private_key(public_exponent=65537, key_size=2048))
    wrongly_signed = KalshiResource(base_url=sandbox.kalshi_base_url, api_key_id=kalshi_key.key_id,
                                    private_key_path=str(wrong_key), retry_max_total_seconds=5.0)
    forged = live | {"kalshi": wrongly_signed, "trading": TradingResource(trading_mode="live", kalshi=wrongly_signed)}

    clean = materialize([account_balance], live, instance)
    sandbox.inject("server_error", path=BALANCE_PATH, count=2, status=502)
    retried = materialize([account_balance], live, instance)
    refused = materialize([account_balance], forged, instance)
    settle = settlement_job.execute_in_process(
        run_config={"ops": {"settle_market_op": {"config": {"ticker": "KXNFLGAME-25NOV09DETWAS-WAS"}}}},
        resources=live, instance=instance, raise_on_error=False)
    results = [clean, retried, refused, settle]

    assert (clean.success, retried.success, refused.success, settle.success) == (True, True, False, False)
    signatures = sandbox.received_signatures()
    assert len(signatures) == 1 + 3 + 1 + 1, len(signatures)  # the 5xx and the 401 were signed too
    secrets = _key_material(kalshi_key.private_key_path) | _key_material(wrong_key) | set(signatures)

    logs = [caplog.text] + [record.getMessage() for record in caplog.records]
    events = _event_log(instance, results)
    tables = [row for rows in warehouse_dump(warehouse_url).values() for row in rows]
    dagster_tables = [row for rows in warehouse_dump(os.environ["DAGSTER_PG_URL"]).values() for row in rows]
    files = _files(Path(instance.root_directory))
    haystacks = {"log lines": logs, "events, metadata and errors": events, "warehouse tables": tables,
                 "Dagster's tables": dagster_tables, "instance files": files}

    # The search looks where the calls left their traces...
    assert "HTTP 502" in caplog.text and "KalshiAuthError" in "".join(events) and "SettlementNotReady" in "".join(events)
    assert any("exchange_sync" in row for row in tables) and any("KalshiAuthError" in row for row in dagster_tables)
    # ...and finds none of the secrets there.
    leaks = [(where, secret[:24]) for where, texts in haystacks.items() for text in texts
             for secret in secrets if secret in text]
    assert leaks == []


def test_a_password_in_the_warehouse_url_query_reaches_no_log_event_or_table(
        sandbox, kalshi_key, warehouse_url, empty_database_url, private_dagster_instance, caplog):
    """Finding 7: a warehouse URL with ``?password=...`` landed in two rows of Dagster's event log
    (a password in ``user:pass@`` was already redacted). Two real runs on a real DagsterInstance:
    one that loads the Kalshi assets, one stopped by a warehouse with pending migrations (whose
    one-line error names the warehouse's URL); their logs, events, metadata and the instance's
    tables and files hold the URL only with ``password=***``."""
    caplog.set_level(logging.DEBUG)
    password = "hunter2-doors1-query"
    instance = private_dagster_instance

    loaded = materialize(KALSHI_ASSETS, sandbox_resources(f"{warehouse_url}?password={password}", sandbox, kalshi_key),
                         instance)
    unmigrated = materialize([kalshi_series], sandbox_resources(f"{empty_database_url}?password={password}", sandbox,
                                                                kalshi_key), instance)

    assert (loaded.success, unmigrated.success) == (True, False), failure_text(loaded)
    events = _event_log(instance, [loaded, unmigrated])
    # The search looks where the URL is shown...
    assert f"{empty_database_url}?password=***" in failure_text(unmigrated)
    assert any("pending migration" in text for text in events)
    # ...and finds no password there, nor anywhere else the runs left a trace.
    haystacks = {"log lines": [caplog.text], "events, metadata and errors": events,
                 "Dagster's tables": [row for rows in warehouse_dump(os.environ["DAGSTER_PG_URL"]).values()
                                      for row in rows],
                 "warehouse tables": [row for rows in warehouse_dump(warehouse_url).values() for row in rows],
                 "instance files": _files(Path(instance.root_directory))}
    assert [where for where, texts in haystacks.items() if any(password in text for text in texts)] == []

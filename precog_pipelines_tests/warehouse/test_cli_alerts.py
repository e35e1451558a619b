"""``precog alerts list|ack|resolve`` on a migrated warehouse."""

from __future__ import annotations

from click.testing import CliRunner

from precog_pipelines.cli import precog
from precog_pipelines.lib import alerts
from precog_pipelines.lib.alert_delivery import deliver
from precog_pipelines.lib.alert_routing import load_routing


def _invoke(warehouse_url: str, *args: str):
    return CliRunner().invoke(precog, ["alerts", *args, "--database-url", warehouse_url])


def test_list_ack_and_resolve(warehouse_url, db, tmp_path):
    stall = alerts.raise_alert(db, "critical", "kalshi_ingestion", "market data stalled\nfor 45 minutes",
                               alerts.fingerprint("stall"))
    alerts.raise_alert(db, "critical", "kalshi_ingestion", "market data stalled", alerts.fingerprint("stall"))
    refusal = alerts.raise_alert(db, "warning", "risk_limits", "entry refused", alerts.fingerprint("risk"))
    path = tmp_path / "routing.yaml"
    path.write_text(f"channels: {{out: {{type: file, path: {tmp_path / 'a.jsonl'}}}}}\n"
                    "routes: [{severities: '*', channels: [out]}]\n")
    deliver(db, refusal, load_routing(path, {}), environ={}, home=tmp_path)

    listed = _invoke(warehouse_url, "list")
    assert listed.exit_code == 0, listed.output
    header, first, second = listed.output.splitlines()
    assert header.split("\t")[:4] == ["id", "severity", "state", "occurrences"]
    assert first.startswith(f"{refusal.id}\twarning\topen\t1\t") and first.endswith("\tentry refused\tout ok")
    assert second.startswith(f"{stall.id}\tcritical\topen\t2\t") and "\tmarket data stalled\t-" in second

    acked = _invoke(warehouse_url, "ack", str(stall.id))
    assert (acked.exit_code, acked.output) == (0, f"alert {stall.id}: acknowledged\n")
    assert _invoke(warehouse_url, "ack", str(stall.id)).output == f"alert {stall.id}: already acknowledged\n"
    resolved = _invoke(warehouse_url, "resolve", str(refusal.id))
    assert (resolved.exit_code, resolved.output) == (0, f"alert {refusal.id}: resolved\n")
    assert _invoke(warehouse_url, "resolve", str(refusal.id)).output == f"alert {refusal.id}: already resolved\n"

    open_only = _invoke(warehouse_url, "list", "--open").output.splitlines()
    assert [line.split("\t")[:3] for line in open_only[1:]] == [[str(stall.id), "critical", "acknowledged"]]
    assert db.execute("SELECT acknowledged_by IS NOT NULL, resolved_at IS NULL FROM alerts WHERE id = %s",
                      (stall.id,)).fetchone() == (True, True)


def test_an_unknown_or_bad_id_is_one_line(warehouse_url):
    missing = _invoke(warehouse_url, "ack", "999")
    assert (missing.exit_code, missing.output) == (1, "Error: no alert has id 999 (see `precog alerts list`)\n")
    assert _invoke(warehouse_url, "resolve", "999").output.startswith("Error: no alert has id 999")
    assert "is not an alert id" in _invoke(warehouse_url, "ack", "0").output
    assert _invoke(warehouse_url, "list", "--open").output == "no open alerts\n"

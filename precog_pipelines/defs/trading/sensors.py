"""Sensors that watch positions and markets, the automation of edges and positions, and the
alarms on failed runs and failed sensor ticks. Each sensor is built by a function from an :class:`Automation` (stopped in
production, running under `precog dev`), in this module's definitions function."""

import json
import time
from datetime import datetime, timedelta, timezone

import dagster as dg
import psycopg

from precog_pipelines.core.automation import PRODUCTION, Automation
from precog_pipelines.core.checks import reported_rule_evaluation
from precog_pipelines.core.run_attempts import attempt_run_keys
from precog_pipelines.core.sensor_ticks import sensor_failures
from precog_pipelines.defs.trading.book_metadata import book_metadata
from precog_pipelines.defs.trading.jobs import position_exit_job, settlement_job
from precog_pipelines.lib import alerts
from precog_pipelines.lib.alert_delivery import alerts_seen_since
from precog_pipelines.lib.kalshi import parse_settlement
from precog_pipelines.lib.quality.rules import every_open_position_is_marked
from precog_pipelines.lib.trading.breakers import trip_on_stale_market_data
from precog_pipelines.lib.trading.marks import Mark, record_marks
from precog_pipelines.lib.trading.money import contract_count
from precog_pipelines.lib.trading.monitor import ExitCandidate, scan_open_positions
from precog_pipelines.lib.trading.settlement_watch import held_tickers, markets_to_settle, unsettled_held_tickers
from precog_pipelines.resources.trading import AlertingResource, TradingResource
from precog_pipelines.resources.warehouse import WarehouseResource

# Bounded work per tick keeps every tick far inside Dagster's 60-second sensor budget;
# the cursor resumes where the last tick stopped.
POSITIONS_PER_TICK = 10_000
MARKET_VERSIONS_PER_TICK = 5_000
# A settlement or exit whose run failed (a transient cause: the database or the exchange was
# unreachable, a lock timed out) is requested again while it is still due, up to this many
# runs in all; after that the failure alert (alert_on_run_failure) stands and a person decides.
MAX_ATTEMPTS = 5
# A tick is recorded when it starts and marked failed when it ends (within Dagster's 60-second
# budget): each look goes back this far before the last one, skipping the ticks already counted.
TICK_OVERLAP_SECONDS = 300
# The first look (no cursor yet) goes back this far.
FIRST_LOOK_BACK_SECONDS = 3600
# Alerts handed to their channels per alert_delivery_sensor tick; a full batch resumes after it.
ALERTS_PER_TICK = 200


def _cursor(context: dg.SensorEvaluationContext, key: str) -> int:
    return int(json.loads(context.cursor).get(key, 0)) if context.cursor else 0


def exit_run_key(candidate: ExitCandidate) -> str:
    """``exit:<position>:<rule>`` for a position no exit sold from yet; after a partial exit the
    remaining contracts are part of the key (``exit:<position>:<rule>:60left``): the run that sold
    the first part succeeded and spent its key, and the rest is new work for a new run. The
    remainder only shrinks, so no key comes back."""
    base = f"exit:{candidate.position_key}:{candidate.signal.rule}"
    return base if not candidate.partly_exited else f"{base}:{contract_count(candidate.quantity)}left"


def position_exit_sensor(automation: Automation = PRODUCTION) -> dg.SensorDefinition:
    return dg.sensor(name="position_exit_sensor", job=position_exit_job, minimum_interval_seconds=30,
                     default_status=automation.sensor_status)(check_open_positions)


def market_settlement_sensor(automation: Automation = PRODUCTION) -> dg.SensorDefinition:
    return dg.sensor(name="market_settlement_sensor", job=settlement_job, minimum_interval_seconds=30,
                     default_status=automation.sensor_status)(find_markets_to_settle)


def alert_on_run_failure(automation: Automation = PRODUCTION) -> dg.SensorDefinition:
    return dg.run_failure_sensor(name="alert_on_run_failure", default_status=automation.sensor_status)(
        raise_run_failure_alert)


def alert_on_sensor_failure(automation: Automation = PRODUCTION) -> dg.SensorDefinition:
    return dg.sensor(name="alert_on_sensor_failure", minimum_interval_seconds=60,
                     default_status=automation.sensor_status)(raise_sensor_failure_alerts)


def alert_delivery_sensor(automation: Automation = PRODUCTION) -> dg.SensorDefinition:
    return dg.sensor(name="alert_delivery_sensor", minimum_interval_seconds=30,
                     default_status=automation.sensor_status)(deliver_raised_alerts)


def trading_automation_sensor(automation: Automation = PRODUCTION) -> dg.AutomationConditionSensorDefinition:
    # One explicit sensor instead of Dagster's implicit default, so its status follows the
    # environment like every other sensor (DAGSTER_STANDARD.md, pitfall E4).
    return dg.AutomationConditionSensorDefinition(
        name="trading_automation_sensor",
        description="Recomputes edges when markets, game states or ratings change and their blocking checks "
                    "passed, then positions when edges change.",
        target=dg.AssetSelection.groups("edges", "trading"),
        default_status=automation.sensor_status,
        minimum_interval_seconds=15,
    )


@dg.definitions
def defs() -> dg.Definitions:
    automation = Automation.from_environment()
    return dg.Definitions(sensors=[position_exit_sensor(automation), market_settlement_sensor(automation),
                                   alert_on_run_failure(automation), alert_on_sensor_failure(automation),
                                   alert_delivery_sensor(automation), trading_automation_sensor(automation)])


def check_open_positions(context: dg.SensorEvaluationContext, warehouse: WarehouseResource,
                         trading: TradingResource) -> dg.SensorResult:
    """Every 30 seconds, check each open position against the latest market prices (stop loss,
    profit target, trailing stop from the peak bid since entry, time exit before close) and
    request position_exit_job once per position and rule that fires, and again after each failed
    run while the rule still fires (up to MAX_ATTEMPTS runs); after a partial exit, once more
    for the contracts left (run key `exit:<position>:<rule>:<N>left`). First, the stale-data circuit
    breaker: market data older than PRECOG_HALT_STALE_MARKET_MINUTES while positions are open
    halts trading. While halted the skip reason says `halted: <reason>`; exits are requested
    unless the halt blocks them. Every evaluation, halted or not, appends to position_marks each
    open position's mark (the bid of the side held), peak and unrealized P&L where they changed,
    and then reports position_marks materialized with the book as marked (and the result of its
    check every_open_position_is_marked)."""
    after_id = _cursor(context, "after_position_id")
    now = datetime.now(timezone.utc)
    with warehouse.connection() as conn:
        state = trip_on_stale_market_data(conn, now, trading.halt_stale_market_minutes, actor="position_exit_sensor")
        conn.commit()
        scan = scan_open_positions(conn, now, after_id, POSITIONS_PER_TICK)
        # Marked even while exits are blocked: a halt is when people most want to know the book's value.
        mark_events = _record_marks(context, conn, scan.marks, now, trading.trading_mode)
    # A full page means more positions follow; otherwise the next tick starts from the top.
    next_after = scan.last_position_id if scan.scanned == POSITIONS_PER_TICK else 0
    if not state.exits_allowed:
        return dg.SensorResult(cursor=json.dumps({"after_position_id": next_after}), asset_events=mark_events,
                               skip_reason=f"{state.describe()} (exits blocked too: no exit requested)")
    work = {exit_run_key(c): (c, {"precog/position": c.position_key, "precog/exit_rule": c.signal.rule,
                                  "precog/exit_quantity": contract_count(c.quantity)})
            for c in scan.candidates}
    run_keys = attempt_run_keys(context.instance, position_exit_job.name,
                                {base: tags for base, (_, tags) in work.items()}, MAX_ATTEMPTS)
    requests = []
    for base, (candidate, tags) in work.items():
        if run_keys[base] is None:
            continue
        requests.append(dg.RunRequest(
            run_key=run_keys[base],
            run_config={"ops": {"exit_position_op": {"config": {
                "position_key": candidate.position_key, "rule": candidate.signal.rule,
                "priority": candidate.signal.priority}}}},
            tags={"dagster/priority": str(10 - candidate.signal.priority), **tags},
        ))
    # While halted (exits allowed) the skip reason leads with the halt, so the UI says why
    # nothing new opens even on ticks that request no exit.
    halted = f"{state.describe()} (exits go on); " if state.halted else ""
    return dg.SensorResult(
        run_requests=requests,
        asset_events=mark_events,
        cursor=json.dumps({"after_position_id": next_after}),
        skip_reason=None if requests else halted + (
            f"{scan.scanned} open position(s) checked, no exit rule fired" if not scan.candidates else
            f"{len(scan.candidates)} exit(s) due, each failed {MAX_ATTEMPTS} times: see the failure alerts"),
    )


def _record_marks(context: dg.SensorEvaluationContext, conn: psycopg.Connection, marks: list[Mark],
                  now: datetime, trading_mode: str) -> list[dg.AssetMaterialization | dg.AssetCheckEvaluation]:
    """Store the marks that changed and, if any did, return a materialization of position_marks
    with the book as it now stands and the result of its check every_open_position_is_marked.
    Marks only inform: a failure to store them raises an error alert (alert_delivery_sensor tells
    the channels) and the tick goes on to request the exits."""
    try:
        marked = record_marks(conn, marks, now)
        conn.commit()
    except psycopg.Error as exc:
        conn.rollback()
        message = f"position marks not recorded: {type(exc).__name__}: {exc.diag.message_primary or str(exc).strip()}"
        context.log.error(message)
        alerts.raise_alert(conn, "error", "position_exit_sensor", message,
                           alerts.fingerprint("position_exit_sensor", "marks", type(exc).__name__),
                           {"open_positions": len(marks)})
        conn.commit()
        return []
    context.log.info(f"{len(marks)} open position(s) marked, {marked} mark(s) changed")
    if not marked:
        return []
    metadata = {**book_metadata(conn, trading_mode), "marks_changed": dg.MetadataValue.int(marked)}
    checked = reported_rule_evaluation(conn, "position_marks", every_open_position_is_marked)
    conn.commit()
    return [dg.AssetMaterialization(asset_key="position_marks", metadata=metadata,
                                    description=f"{marked} mark(s) changed"), checked]


def find_markets_to_settle(context: dg.SensorEvaluationContext, warehouse: WarehouseResource,
                           trading: TradingResource) -> dg.SensorResult:
    """Watch market history for markets that are determined or finalized while positions on them
    are open (and, in live mode, the exchange's portfolio settlements), and request
    settlement_job once per market, and again after each failed run while positions on it stay
    open (up to MAX_ATTEMPTS runs). The cursor keeps high-water marks: the last market version
    and the last exchange settlement time seen, so each is looked at once."""
    after = _cursor(context, "after_market_version_id")
    settled_after = _cursor(context, "exchange_settled_after_ts")
    with warehouse.connection() as conn:
        scan = markets_to_settle(conn, after, MARKET_VERSIONS_PER_TICK)
        # Markets already past the mark whose positions are still open: their settlement
        # failed (or is running); attempt_run_keys requests them again only after a failure.
        tickers = set(scan.tickers) | set(unsettled_held_tickers(conn))
        if trading.is_live:
            with trading.kalshi.client() as client:
                records = [parse_settlement(p) for p in client.iter_settlement_payloads(min_ts=settled_after)]
            tickers |= set(held_tickers(conn, {r.ticker for r in records}))
            settled_after = max([settled_after, *(int(r.settled_time.timestamp()) for r in records)])
    run_keys = attempt_run_keys(context.instance, settlement_job.name,
                                {f"settle:{ticker}": {"precog/ticker": ticker} for ticker in sorted(tickers)},
                                MAX_ATTEMPTS)
    requests = [dg.RunRequest(run_key=run_key,
                              run_config={"ops": {"settle_market_op": {"config": {"ticker": ticker}}}},
                              tags={"precog/ticker": ticker})
                for ticker in sorted(tickers) if (run_key := run_keys[f"settle:{ticker}"]) is not None]
    return dg.SensorResult(
        run_requests=requests,
        cursor=json.dumps({"after_market_version_id": scan.high_water_mark,
                           "exchange_settled_after_ts": settled_after}),
        skip_reason=None if requests else (
            "no market with open positions has a result" if not tickers else
            f"{len(tickers)} settlement(s) due, each failed {MAX_ATTEMPTS} times: see the failure alerts"),
    )


def waiting_downstream(repository: dg.RepositoryDefinition | None, failed: frozenset[dg.AssetKey] | None) -> list[str]:
    """The automated assets downstream of a failed run's assets: their conditions hold them back
    until it succeeds (issue 17: edges showed only "Not requested" after a failed Elo run)."""
    if repository is None or not failed:
        return []
    graph = repository.asset_graph
    downstream = dg.AssetSelection.assets(*failed).downstream(include_self=False).resolve(graph)
    return sorted(key.to_user_string() for key in downstream if graph.get(key).automation_condition is not None)


def _planned_assets(context: dg.RunFailureSensorContext) -> frozenset[dg.AssetKey]:
    """The assets the failed run was to materialize (a run of a whole job has no asset selection)."""
    planned = context.instance.all_logs(context.dagster_run.run_id,
                                        of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED)
    return frozenset(record.dagster_event.asset_key for record in planned)


def _failure_summary(context: dg.RunFailureSensorContext) -> tuple[str, str]:
    """(error class, message) of the root cause of the first failed step (Dagster wraps what
    our code raised in its own execution error), else the run's own failure message."""
    for record in context.instance.all_logs(context.dagster_run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE):
        error = record.dagster_event.event_specific_data.error
        while error is not None and error.cause is not None:
            error = error.cause
        if error is not None:
            return error.cls_name or "StepFailure", f"{record.dagster_event.step_key}: {error.message.strip()}"
    return "RunFailure", context.failure_event.message or "run failed"


def raise_run_failure_alert(
    context: dg.RunFailureSensorContext, warehouse: WarehouseResource, alerting: AlertingResource
) -> None:
    """Write an alerts row for every failed run (one open alert per job and error class, counted
    on repeats) and tell the channels the alert routing names for an error."""
    job = context.dagster_run.job_name
    kind, message = _failure_summary(context)
    if waiting := waiting_downstream(context.repository_def, _planned_assets(context)):
        message = f"{message} Waiting until it succeeds: {', '.join(waiting)}."
    with warehouse.connection() as conn:
        alert = alerts.raise_alert(conn, "error", job, message, alerts.fingerprint(job, kind),
                                   {"run_id": context.dagster_run.run_id, "error_class": kind})
        conn.commit()
        alerting.notify(conn, alert)
        conn.commit()


def raise_sensor_failure_alerts(context: dg.SensorEvaluationContext, warehouse: WarehouseResource,
                                alerting: AlertingResource) -> dg.SkipReason:
    """Every minute: for each sensor whose ticks failed since the last look, raise an error alert
    (one open alert per sensor, counted once per failed tick) and tell the channels the alert
    routing names; once a sensor's latest tick is not a failure, resolve its alert. Dagster open
    source has no hook on a sensor's failure, so this reads the instance's tick history
    (core/sensor_ticks.py). Requests no run."""
    now = time.time()
    cursor = json.loads(context.cursor) if context.cursor else {}
    after = float(cursor["checked_at"]) - TICK_OVERLAP_SECONDS if cursor else now - FIRST_LOOK_BACK_SECONDS
    seen = set(cursor.get("seen", []))
    raised, resolved, recent = [], [], []
    with warehouse.connection() as conn:
        for sensor in sensor_failures(context.instance, after, exclude=frozenset({context.sensor_name})):
            key = alerts.fingerprint(sensor.sensor, "sensor_failure")
            alert = None
            for tick in sensor.failed:
                recent.append(tick.tick_id)
                if tick.tick_id in seen:
                    continue
                alert = alerts.raise_alert(conn, "error", sensor.sensor, f"sensor {sensor.sensor} failed: "
                                           f"{tick.error_class}: {tick.message}", key,
                                           {"tick_id": tick.tick_id, "error_class": tick.error_class})
            if alert is not None:
                conn.commit()
                alerting.notify(conn, alert)
                conn.commit()
                raised.append(sensor.sensor)
            elif not sensor.latest_failed and alerts.resolve_alert(conn, key):
                conn.commit()
                resolved.append(sensor.sensor)
    context.update_cursor(json.dumps({"checked_at": now, "seen": sorted(recent)}))
    if raised or resolved:
        return dg.SkipReason("; ".join(filter(None, [
            f"failing: {', '.join(raised)}" if raised else "", f"recovered: {', '.join(resolved)}" if resolved else ""])))
    return dg.SkipReason("no sensor failed")


def deliver_raised_alerts(context: dg.SensorEvaluationContext, warehouse: WarehouseResource,
                          alerting: AlertingResource) -> dg.SkipReason:
    """Every 30 seconds: hand each alert raised or repeated since the last look to the channels
    the alert routing names. Code that raises an alert in the middle of trading (a halt, a
    circuit breaker) only writes its row, so no channel ever delays an order; this sensor tells
    people. An occurrence already handled (by the raiser's own notify) is not sent twice, and
    the deduplication window applies as everywhere. Requests no run."""
    now = datetime.now(timezone.utc)
    cursor = json.loads(context.cursor) if context.cursor else None
    if cursor is None:
        since = now - timedelta(seconds=FIRST_LOOK_BACK_SECONDS)
    else:
        # An alert's last_seen_at is its transaction's start: look back over ones committed late,
        # except after a full batch, which must move on.
        since = datetime.fromisoformat(cursor["after"]) - (
            timedelta(0) if cursor.get("full") else timedelta(seconds=TICK_OVERLAP_SECONDS))
    sent = 0
    with warehouse.connection() as conn:
        seen = alerts_seen_since(conn, since, ALERTS_PER_TICK)
        conn.commit()
        for alert, _ in seen:
            sent += sum(d.state in ("delivered", "failed") for d in alerting.notify(conn, alert))
            conn.commit()
    # Nothing seen: the next look starts from now (less the overlap), not from an hour ago again.
    newest = max(at for _, at in seen) if seen else now
    context.update_cursor(json.dumps({"after": newest.isoformat(), "full": len(seen) == ALERTS_PER_TICK}))
    return dg.SkipReason(f"{len(seen)} alert(s) seen, {sent} delivery attempt(s)")

"""Pieces of the local stack that ``precog dev`` assembles: Dagster's home and environment."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import socket
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import requests

from precog_pipelines.lib.settings import code_location_environment, repository_root
from precog_pipelines.lib.warehouse.server import WarehouseServer, WarehouseUnavailable, connect
from precog_pipelines.lib.warehouse.urls import libpq_url


def port_is_free(host: str, port: int) -> bool:
    return listen_problem(host, port) is None


def listen_problem(host: str, port: int) -> str | None:
    """Why a server cannot listen on ``host:port`` (one line saying what to change), or None.
    A busy port and an address that is not this machine's are different problems."""
    try:
        family, kind, protocol, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError) as error:
        return f"cannot listen on {host}:{port} ({getattr(error, 'strerror', None) or error}); pass another --host"
    with socket.socket(family, kind, protocol) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            return bind_problem(host, port, error)
    return None


def bind_problem(host: str, port: int, error: OSError) -> str:
    """The one line for a failed bind: a port in use, or an address this machine does not have."""
    if error.errno == errno.EADDRINUSE:
        return f"port {port} on {host} is already in use; stop what is using it or pass --port"
    if error.errno == errno.EACCES:
        return f"cannot listen on {host}:{port} ({error.strerror}: ports below 1024 need privileges); pass another --port"
    return f"cannot listen on {host}:{port} ({error.strerror or error}); pass another --host"


def end_process_group(pgid: int, grace_seconds: float = 10.0) -> bool:
    """Stop whatever is still running in process group ``pgid``: SIGTERM, then SIGKILL to what
    is left after ``grace_seconds``. Returns whether anything was left.

    `dg dev` exits on Ctrl-C before the code server it started, and before a run worker that is
    still executing a step; left alone they would go on (and keep writing) after Precog said it
    had stopped.
    """
    if not _group_has_live_members(pgid):  # only zombies, or nothing: nothing to stop
        return False
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + grace_seconds
    while _group_has_live_members(pgid):
        if time.monotonic() >= deadline:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            break
        time.sleep(0.2)
    return True


def _group_has_live_members(pgid: int) -> bool:
    """Whether a process of group ``pgid`` still runs; zombies (exited, not yet reaped) do not count."""
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        return True
    for stat in proc.glob("[0-9]*/stat"):
        try:
            # Fields after the parenthesised command name: state, ppid, pgrp, ...
            state, _ppid, pgrp = stat.read_text().rpartition(")")[2].split()[:3]
        except (OSError, ValueError):
            continue
        if int(pgrp) == pgid and state != "Z":
            return True
    return False


def prepare_dagster_home(home: Path) -> Path:
    """``$PRECOG_HOME/dagster_home`` holding the repository's dagster.yaml."""
    dagster_home = home / "dagster_home"
    dagster_home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(repository_root() / "dagster.yaml", dagster_home / "dagster.yaml")
    return dagster_home


def stack_environment(
    server: WarehouseServer, dagster_home: Path, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Variables the Dagster processes need: both databases, the instance, and every setting
    the code location reads (the caller's value when set, else its default)."""
    return code_location_environment(environ) | {
        "DAGSTER_HOME": str(dagster_home),
        "DAGSTER_PG_URL": libpq_url(server.dagster_url),
        "PRECOG_DATABASE_URL": libpq_url(server.warehouse_url),
    }


def wait_until_serving(url: str, timeout_seconds: float, is_alive=lambda: True) -> bool:
    """Poll ``url`` until it answers 200, the deadline passes, or ``is_alive()`` turns false."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline and is_alive():
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return True
        except requests.RequestException:
            pass
        time.sleep(0.5)
    return False


_LAUNCH_BACKFILL = """
mutation LaunchBackfill($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
    ... on UnauthorizedError { message }
    ... on PartitionSetNotFoundError { message }
    ... on InvalidStepError { invalidStepKey }
    ... on InvalidOutputError { invalidOutputName }
    ... on RunConflict { message }
  }
}
"""


def launch_backfill(ui_url: str, asset: str, title: str, timeout_seconds: float = 120) -> str:
    """Ask the Dagster webserver to backfill every partition of ``asset``, as the UI's
    "Materialize all partitions" does; retried while the code location is still loading."""
    variables = {"params": {"assetSelection": [{"path": [asset]}], "allPartitions": True, "title": title}}
    deadline = time.monotonic() + timeout_seconds
    problem = "no answer"
    while time.monotonic() < deadline:
        try:
            response = requests.post(f"{ui_url}/graphql", json={"query": _LAUNCH_BACKFILL, "variables": variables},
                                     timeout=30)
            payload = response.json().get("data", {}).get("launchPartitionBackfill") or {}
        except (requests.RequestException, ValueError) as exc:
            payload, problem = {}, type(exc).__name__
        if payload.get("__typename") == "LaunchBackfillSuccess":
            return payload["backfillId"]
        problem = payload.get("message") or payload.get("__typename") or problem
        time.sleep(2)
    raise RuntimeError(f"could not launch the {asset} backfill: {problem}")


_BACKFILL_STATUS = """
query BackfillStatus($id: String!) {
  partitionBackfillOrError(backfillId: $id) { __typename ... on PartitionBackfill { status } }
}
"""
_BACKFILL_DONE = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}


def wait_for_backfill(ui_url: str, backfill_id: str, timeout_seconds: float, poll_seconds: float = 3.0,
                      should_stop: Callable[[], bool] = lambda: False) -> str | None:
    """The backfill's final status (``COMPLETED_SUCCESS``, ``COMPLETED_FAILED``, ``FAILED``,
    ``CANCELED``), or None if it is still going at the deadline or we were asked to stop."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline and not should_stop():
        try:
            response = requests.post(f"{ui_url}/graphql", timeout=30, json={
                "query": _BACKFILL_STATUS, "variables": {"id": backfill_id}})
            status = ((response.json().get("data") or {}).get("partitionBackfillOrError") or {}).get("status")
        except (requests.RequestException, ValueError):
            status = None
        if status in _BACKFILL_DONE:
            return status
        time.sleep(poll_seconds)
    return None


def wait_for_positions(warehouse_url: str, timeout_seconds: float, poll_seconds: float = 3.0,
                       should_stop: Callable[[], bool] = lambda: False) -> bool:
    """Wait until the warehouse holds a position (the loop is primed) or the deadline passes."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline and not should_stop():
        try:
            with connect(warehouse_url) as conn:
                if conn.execute("SELECT EXISTS (SELECT 1 FROM positions)").fetchone()[0]:
                    return True
        except WarehouseUnavailable:
            pass
        time.sleep(poll_seconds)
    return False

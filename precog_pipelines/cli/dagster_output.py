"""What `precog dev` shows of Dagster's output: everything goes to a log file, the terminal gets
one line per warning or failure, saying what failed and where to read the rest.

Dagster's processes (webserver, daemon, code server, run workers) all write to the one pipe
``precog dev`` holds. A record starts with a timestamp line (``2026-11-29 06:13:42 +0000 -
dagster - ERROR - <job> - <run id> - <pid> - [<step> -] <EVENT> - <message>``); a failure's
error and stack trace follow on lines of their own until the next record.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TextIO

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4} - (?P<logger>[\w.\-]+) - (?P<level>[A-Z]+) - (?P<rest>.*)$")
_RUN_EVENT = re.compile(r"^(?P<job>\S+) - (?P<run_id>[0-9a-f]{8}-[0-9a-f-]{27}) - \d+ - (?:(?P<step>\S+) - )?"
                        r"(?P<event>[A-Z_]+) - (?P<message>.*)$")
_ERROR_LINE = re.compile(r"^(?:[A-Za-z_][\w.]*\.)?(?P<kind>[A-Z]\w*)(?:: (?P<text>.*))?$")
_ERROR_KIND = re.compile(r"Error|Exception|Failure|Interrupt")
_SHOWN_LEVELS = {"WARNING", "ERROR", "CRITICAL"}
_MAX_MESSAGE = 240
# A record's error and stack trace follow its first line; it is complete at the next record, or
# after this long without output (nothing else may be logged for a while after a failure).
_QUIET_SECONDS = 1.0


def terminal_line(record_lines: list[str], ui_url: str, log_path: Path,
                  reported_runs: set[str] | None = None) -> str | None:
    """The one terminal line for a Dagster record (its first line and any lines after it), or
    None when the record is below warning level (it stays in the log file only). A run's
    failure is said once: after its step's failure, the run's own is left out
    (``reported_runs`` remembers which runs were reported)."""
    reported_runs = set() if reported_runs is None else reported_runs
    header = _ANSI.sub("", record_lines[0]).rstrip()
    matched = _RECORD.match(header)
    if matched is None or matched["level"] not in _SHOWN_LEVELS:
        return None
    rest = matched["rest"]
    event = _RUN_EVENT.match(rest)
    if event is None:
        return f"Dagster {matched['level'].lower()}: {_short(rest)} (details: {log_path})"
    if event["event"] == "RUN_FAILURE" and event["run_id"] in reported_runs:
        return None
    reported_runs.add(event["run_id"])
    what = f"step {event['step']} of " if event["step"] else ""
    cause = _error_text(record_lines[1:]) or event["message"]
    return (f"Run failed: {what}{event['job']} ({event['run_id'][:8]}): {_short(cause).rstrip('.')}. "
            f"See {ui_url}/runs/{event['run_id']} (full log: {log_path})")


def _error_text(lines: Iterable[str]) -> str:
    """The exception's own words: the first line that names an error class, without the stack trace."""
    for raw in lines:
        line = _ANSI.sub("", raw).strip()
        if line.startswith("Stack Trace") or line.startswith("The above exception"):
            break
        found = _ERROR_LINE.match(line)
        if found and _ERROR_KIND.search(found["kind"]):
            return found["text"] or found["kind"]
    return ""


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


class DagsterOutput:
    """Reads Dagster's merged output on a thread: every line to ``log_path``, one line per
    warning or failure to ``echo``."""

    def __init__(self, stream: TextIO, log_path: Path, ui_url: str, echo: Callable[[str], None],
                 is_stopping: Callable[[], bool] = lambda: False) -> None:
        self._stream, self._log_path, self._ui_url, self._echo = stream, log_path, ui_url, echo
        self._is_stopping = is_stopping
        self._record: list[str] = []
        self._last_line_at = time.monotonic()
        self._reported_runs: set[str] = set()
        self._lock = threading.Lock()
        self._done = threading.Event()
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._threads = [threading.Thread(target=self._pump, name="dagster-output", daemon=True),
                         threading.Thread(target=self._flush_when_quiet, name="dagster-output-flush", daemon=True)]
        for thread in self._threads:
            thread.start()

    def _pump(self) -> None:
        with self._log_path.open("a", encoding="utf-8") as log:
            for line in self._stream:
                log.write(line)
                log.flush()
                with self._lock:
                    if _RECORD.match(_ANSI.sub("", line)):
                        self._show()
                    self._record.append(line)
                    self._last_line_at = time.monotonic()
        with self._lock:
            self._show()
        self._done.set()

    def _flush_when_quiet(self) -> None:
        while not self._done.wait(_QUIET_SECONDS / 2):
            with self._lock:
                if self._record and time.monotonic() - self._last_line_at >= _QUIET_SECONDS:
                    self._show()

    def _show(self) -> None:
        record, self._record = self._record, []
        # Runs interrupted by Ctrl-C fail by design; saying so once per run would only alarm.
        if not record or self._is_stopping():
            return
        line = terminal_line(record, self._ui_url, self._log_path, self._reported_runs)
        if line is not None:
            self._echo(line)

    def join(self, timeout: float) -> None:
        self._threads[0].join(timeout)

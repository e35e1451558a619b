"""What delivering one alert costs its caller (a sensor has 60 s): the shipped retry policy
(3 attempts, 1 s then 2 s between, stop after 20 s, webhook timeout 5 s) against a webhook that
answers, one that refuses connections, one that answers 500, and one that accepts and never
answers. Prints JSON: seconds per case, attempts and state of the webhook channel.

    PRECOG_BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/alert_delivery.py
"""

from __future__ import annotations

import json
import socket
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _database import bench_database  # noqa: E402

from precog_pipelines.lib import alerts  # noqa: E402
from precog_pipelines.lib.alert_delivery import deliver  # noqa: E402
from precog_pipelines.lib.alert_routing import SHIPPED_ROUTING_FILE, load_routing  # noqa: E402
from precog_pipelines.lib.warehouse.server import connect  # noqa: E402


def _server(status: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    ok, failing = _server(200), _server(500)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # accepts connections into the backlog, never reads or answers
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        refused_port = probe.getsockname()[1]
    cases = {"answers": f"http://127.0.0.1:{ok.server_address[1]}/hook",
             "refuses_connections": f"http://127.0.0.1:{refused_port}/hook",
             "answers_500": f"http://127.0.0.1:{failing.server_address[1]}/hook",
             "never_answers": f"http://127.0.0.1:{silent.getsockname()[1]}/hook"}
    results = {}
    with bench_database("precog_bench_alerts") as url, connect(url, autocommit=True) as conn, \
            tempfile.TemporaryDirectory() as home:
        for case, webhook in cases.items():
            routing = load_routing(SHIPPED_ROUTING_FILE, {"PRECOG_ALERT_WEBHOOK_URL": webhook})
            alert = alerts.raise_alert(conn, "critical", "bench", case, alerts.fingerprint("bench", case))
            started = time.perf_counter()
            deliveries = deliver(conn, alert, routing, environ={"PRECOG_ALERT_WEBHOOK_URL": webhook}, home=Path(home))
            elapsed = time.perf_counter() - started
            [hook] = [d for d in deliveries if d.channel == "webhook"]
            results[case] = {"seconds": round(elapsed, 2), "webhook_state": hook.state, "attempts": hook.attempts,
                             "error": hook.error, "other_channels": [d.state for d in deliveries if d is not hook]}
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

"""gunicorn settings for the kiosk (`kiosk serve`, which deploy/kiosk.service runs, passes -c).

Sized for a 2-core laptop: three processes (the GIL lets one thread of a process run
Python at a time, and a third process keeps both cores busy while another waits for the
disk or SQLite's write lock) with four threads each; more threads per process only queued
for its GIL. Measured with tests/bench/bench_cast.py, cast path at 100 and 200 booths,
two runs each: 2 x 8 gave 90 casts/s on average, 2 x 4 100, 3 x 4 110, 4 x 2 104 (runs of
one setting differed by up to 20 %). Threaded workers keep
connections alive: a tablet sends its next page request (or its heartbeat, every 20 s)
on the connection it already has, without a new TLS handshake.

Each worker hands the GIL between its threads every 0.5 ms instead of Python's 5 ms. A
thread that gave the GIL up (for a SQLite statement, a commit's fsync, a socket) waits
up to one interval to take it back while another thread computes, and a cast makes a
dozen such calls, several inside the write lock that every other cast waits for. Measured
with bench_cast's paced table at 200 booths, two runs each (2026-12-03): cast p99 403 and
345 ms at 5 ms, 236 and 285 ms at 0.5 ms; 6 processes of one thread each gave 318 ms.

Each worker also starts its sealing helpers (shared/seal_pool.py): the ~30 ms of CPU
that sealing a ballot takes then runs outside the worker's GIL and at the lowest CPU
priority, so a cast no longer waits for other voters' seals.

The access log has no client address, no time and no query string: a log line must
never link a cast to a tablet or a moment. Answers carry no `Server: gunicorn` banner.
"""

from __future__ import annotations

import ssl
import sys
from collections.abc import Callable
from typing import Any

import gunicorn.sock

from shared import seal_pool
from shared.server_banner import hide_server_banner

hide_server_banner()  # read by the master, before the workers fork

SWITCH_INTERVAL = 0.0005  # seconds; see the module docstring

worker_class = "gthread"
workers = 3
threads = 4
# Longer than the booth's heartbeat period (kiosk.js, 20 s), so an idle tablet's connection
# stays open; idle connections wait in the worker's poller and hold no thread.
keepalive = 75
worker_connections = 1000
timeout = 30
graceful_timeout = 10
accesslog = "-"
access_log_format = "%(m)s %(U)s %(s)s"
errorlog = "-"
loglevel = "warning"

_contexts: dict[tuple[str, str], ssl.SSLContext] = {}


def ssl_context(conf: Any, default_ssl_context_factory: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
    """One TLS context per server instead of gunicorn's one per connection.

    gunicorn otherwise reads the key and certificate again for every connection, and a
    tablet could never resume its TLS session (the session-ticket key lives in the context).
    A new certificate therefore takes a restart, as it does for most servers.
    """
    key = (str(conf.certfile), str(conf.keyfile))
    context = _contexts.get(key)
    if context is None:
        context = _contexts[key] = default_ssl_context_factory()
    return context


def when_ready(server: Any) -> None:
    """Build the TLS context in the master, before the workers fork: all of them then share
    one session-ticket key, and a tablet resumes its session whichever worker it reaches."""
    if server.cfg.is_ssl:
        gunicorn.sock.ssl_context(server.cfg)


def post_fork(server: Any, worker: Any) -> None:
    """In each worker, before its threads start: a shorter GIL switch interval and the
    sealing helpers (the module docstring says why)."""
    sys.setswitchinterval(SWITCH_INTERVAL)
    seal_pool.start()

"""gunicorn settings for the kiosk (`kiosk serve`, which deploy/kiosk.service runs, passes -c).

Sized for a 2-core laptop: two processes (one per core; the GIL lets one thread of a
process run Python at a time) with a pool of threads each, so a request waiting for the
disk or for SQLite's write lock does not leave a core idle. Threaded workers keep
connections alive: a tablet sends its next page request (or its heartbeat, every 20 s)
on the connection it already has, without a new TLS handshake.

The access log has no client address, no time and no query string: a log line must
never link a cast to a tablet or a moment.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import Any

worker_class = "gthread"
workers = 2
threads = 8
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
        from gunicorn.sock import ssl_context as build

        build(server.cfg)


def post_fork(_server: Any, _worker: Any) -> None:
    import sys
    sys.setswitchinterval(0.0005)

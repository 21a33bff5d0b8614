"""No "Server: gunicorn" banner on the kiosk's and the counter's answers.

The banner names the server software and its version to anyone on the LAN.

gunicorn writes `Server: gunicorn` on every HTTP/1.1 answer and has no setting to leave it
out; an attacker on the LAN should not learn which server (and so which flaws) to try.
Both apps' gunicorn settings call this in the master, before the workers fork, so every
worker inherits it. HTTP/1.1 only: neither app turns on gunicorn's HTTP/2.
"""

from __future__ import annotations

from typing import Any


def hide_server_banner() -> None:
    """Drop the Server line from gunicorn's own response headers (idempotent)."""
    # Only a starting server calls this: the commands that import this module (counter/cli.py)
    # do not load gunicorn for every other command.
    from gunicorn.http import wsgi

    if getattr(wsgi.Response, "_server_banner_hidden", False):
        return
    original = wsgi.Response.default_headers

    def default_headers(self: Any) -> list[str]:
        return [line for line in original(self) if not line.lower().startswith("server:")]

    wsgi.Response.default_headers = default_headers
    wsgi.Response._server_banner_hidden = True

"""The address a tablet must open: the configured public URL, never the chair's loopback.

The chair often runs the browser on the kiosk machine itself (http://127.0.0.1:8000), and a
page built from the request's own address would send the tablet to 127.0.0.1, which on
the tablet is the tablet. With `public_url` in config.json (`kiosk demo --lan` writes it)
the pages name the LAN address; without it, a loopback request says it cannot be used.
"""

from __future__ import annotations

import ipaddress

from flask import current_app, request, url_for


def external_url(endpoint: str) -> str:
    """The absolute address of an endpoint as a tablet on the LAN must type it."""
    public_url: str | None = current_app.extensions["kiosk_config"].public_url
    if public_url:
        return public_url + url_for(endpoint)
    return url_for(endpoint, _external=True)


def loopback_only() -> bool:
    """True if the page names an address no tablet can reach (this machine's loopback)."""
    if current_app.extensions["kiosk_config"].public_url:
        return False
    host = request.host
    if host.startswith("["):  # [::1]:8000
        host = host[1:host.find("]")]
    elif host.count(":") == 1:  # 127.0.0.1:8000
        host = host.split(":")[0]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

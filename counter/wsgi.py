"""The gunicorn target (`counter.wsgi:app`): the only module that builds an app at import time."""

from __future__ import annotations

from counter.app import create_app
from counter.config import ensure_home, home_path, load_config

app = create_app(load_config(ensure_home(home_path())))

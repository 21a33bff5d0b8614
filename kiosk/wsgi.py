"""The gunicorn target: the only module that builds an app at import time (KIOSK_HOME)."""

from kiosk.app import create_app
from kiosk.config import home_from, load_config

app = create_app(load_config(home_from(None)))

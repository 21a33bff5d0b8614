"""Fixtures shared by the counter web tests (import the ones a module uses)."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from counter.app import create_app
from counter.config import CounterConfig, ensure_home, load_config
from tests.counter_support import Browser, Built, build_election, counter_home


@pytest.fixture(scope="module")
def election(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """A closed election with its sealed box (built once per module)."""
    return build_election(tmp_path_factory.mktemp("election"))


@pytest.fixture(scope="module")
def foreign(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """Another election, for shares and boxes that do not belong."""
    return build_election(tmp_path_factory.mktemp("foreign"), seed=2)


@pytest.fixture
def config(tmp_path: Path) -> CounterConfig:
    """A fresh COUNTER_HOME, on the laptop that held the test elections' key ceremony."""
    return load_config(ensure_home(counter_home(tmp_path / "home")))


@pytest.fixture
def app(config: CounterConfig) -> Flask:
    """The counter app with CSRF on, as in production."""
    app = create_app(config)
    app.config.update(TESTING=True, WTF_CSRF_ENABLED=True)
    return app


@pytest.fixture
def browser(app: Flask) -> Browser:
    """An HTTPS test client that keeps every response."""
    return Browser(app.test_client())

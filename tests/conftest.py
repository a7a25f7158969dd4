"""Shared fixtures: a fresh embedded ledger on a temporary folder with a manual clock."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tongxiu.infra.bootstrap import open_embedded
from tongxiu.infra.embedded import LocalInbox, LocalTransport
from tongxiu.services.app import Tongxiu
from tongxiu.services.config import Settings
from tongxiu.services.demo import START, run_demo
from tongxiu.services.ports import ManualClock

# the SDK keeps every receipt in a folder per department (issue 9): never the user's home in tests
os.environ.setdefault("TONGXIU_CLIENT_DIR", tempfile.mkdtemp(prefix="tongxiu-client-"))
# and the ledger keys of fresh ledgers live outside their data directories (issue 9)
os.environ.setdefault("TONGXIU_KEY_DIR", tempfile.mkdtemp(prefix="tongxiu-keys-"))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def app(tmp_path: Path, clock: ManualClock) -> Iterator[Tongxiu]:
    tongxiu = open_embedded(Settings(data_dir=tmp_path / "ledger"), clock=clock)
    yield tongxiu
    tongxiu.close()


@pytest.fixture
def demo_app(app: Tongxiu, clock: ManualClock) -> Tongxiu:
    """The embedded ledger after the whole demo scenario ran."""
    run_demo(app, clock, transport=LocalTransport(app), inbox=LocalInbox(app), say=lambda s: None)
    return app

from __future__ import annotations

import pytest

from services.app import Tongxiu
from services.ports import ManualClock
from tests.support import World, make_world


@pytest.fixture
def world(app: Tongxiu, clock: ManualClock) -> World:
    """An embedded ledger with the demo departments registered and subscribed."""
    return make_world(app, clock)

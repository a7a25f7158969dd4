from __future__ import annotations

import pytest

from tests.support import World, make_world
from tongxiu.services.app import Tongxiu
from tongxiu.services.ports import ManualClock


@pytest.fixture
def world(app: Tongxiu, clock: ManualClock) -> World:
    """An embedded ledger with the demo departments registered and subscribed."""
    return make_world(app, clock)

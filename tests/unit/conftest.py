from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import World, make_world
from tongxiu.events import upcast
from tongxiu.services.app import Tongxiu
from tongxiu.services.ports import ManualClock


@pytest.fixture
def world(app: Tongxiu, clock: ManualClock) -> World:
    """An embedded ledger with the demo departments registered and subscribed."""
    return make_world(app, clock)


@pytest.fixture
def old_refusal_shape() -> Iterator[None]:
    """Pretend repair_refused v1 called its reason `why`; v2 renamed it (an upcaster registered
    straight into the table, as a test may)."""

    def v1_to_v2(raw: dict[str, object]) -> dict[str, object]:
        raw["reason"] = raw.pop("why")
        return raw

    upcast.UPCASTERS[("repair_refused", 1)] = v1_to_v2
    yield
    del upcast.UPCASTERS[("repair_refused", 1)]

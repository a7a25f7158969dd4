"""Issue 7 on the embedded ledger: every scenario of ``tests/ledger_decides.py`` (one per
discrepancy of the domain audit), plus what only needs one backend."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.ledger_decides import SCENARIOS
from tests.support import World


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.__name__ for s in SCENARIOS])
def test_scenario(world: World, scenario: Callable[[World], None]) -> None:
    scenario(world)

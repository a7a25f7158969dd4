"""The bounded retry of the Cassandra adapters' reads (``infra/cassandra_retry.py``)."""

from __future__ import annotations

import pytest
from cassandra.cluster import NoHostAvailable
from cassandra.connection import ConnectionShutdown

from tongxiu.infra import cassandra_retry
from tongxiu.infra.cassandra_retry import READ_ATTEMPTS, retry_read


class Reader:
    def __init__(self, failures: int, error: Exception | None = None) -> None:
        self.failures = failures
        self.calls = 0
        self.error = error or NoHostAvailable("Unable to complete the operation against any hosts",
                                              {"127.0.0.1:9042": ConnectionShutdown("Connection is defunct")})

    @retry_read
    def read(self, key: str) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return f"value of {key}"


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr(cassandra_retry.time, "sleep", slept.append)
    return slept


def test_a_read_on_a_dead_connection_is_tried_again(no_sleep: list[float]) -> None:
    before = cassandra_retry.retried
    r = Reader(failures=2)
    assert r.read("k") == "value of k"
    assert r.calls == 3 and no_sleep == [0.25, 0.5]
    assert cassandra_retry.retried == before + 2


def test_the_retry_is_bounded_and_the_error_reaches_the_caller(no_sleep: list[float]) -> None:
    r = Reader(failures=100)
    with pytest.raises(NoHostAvailable):
        r.read("k")
    assert r.calls == READ_ATTEMPTS
    assert sum(no_sleep) == pytest.approx(5.75)


def test_other_errors_are_not_retried() -> None:
    r = Reader(failures=1, error=ValueError("bad key"))
    with pytest.raises(ValueError):
        r.read("k")
    assert r.calls == 1

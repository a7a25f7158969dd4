"""Shared server fixtures for every test that needs the real Kafka and Cassandra.

* ``servers`` (session): starts or reuses both servers once per run with
  ``tongxiu.infra.launch.up()`` and returns ``tongxiu.infra.launch.status()``; on failure the server log tails
  are printed.
* ``cassandra_session`` (session): ONE driver session for the whole run (built by
  ``tongxiu.infra.cassandra_store.connect``), shut down at the end of the run.
* ``fresh_keyspace`` (session): a factory ``fresh_keyspace(prefix="tongxiu_test") -> Settings``
  that creates and migrates a uniquely named keyspace (``<prefix>_<random>``) and returns the
  Settings pointing at it; every keyspace it made is dropped at the end of the run.

The resources are module-level singletons, so a conftest elsewhere (``tests/contract``) that
re-exports these fixtures shares the same servers, session and keyspaces.
"""

from __future__ import annotations

import contextlib
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tongxiu.infra import launch  # noqa: E402
from tongxiu.services.config import Settings  # noqa: E402

_STATE: dict[str, Any] = {"keyspaces": []}


def _log_tails(*components: str) -> str:
    return "\n".join(
        f"----- {c} log tail ({launch.status(probe=False)[c]['log']}) -----\n{launch.log_tail(c, lines=80)}"
        for c in components
    )


def start_servers() -> dict[str, dict[str, Any]]:
    """tongxiu.infra.launch.up() once per run (reusing running servers); the status dict."""
    if "servers" not in _STATE:
        try:
            launch.up()
        except Exception as exc:  # print the logs, then fail every test that needs them
            tails = _log_tails(*launch.COMPONENTS)
            print(tails, file=sys.stderr)
            _STATE["servers"] = exc
            raise AssertionError(f"servers did not start: {exc}\n{tails}") from exc
        _STATE["servers"] = launch.status()
    if isinstance(_STATE["servers"], Exception):
        pytest.fail(f"servers did not start: {_STATE['servers']}", pytrace=False)
    return _STATE["servers"]  # type: ignore[no-any-return]


def base_settings(**overrides: Any) -> Settings:
    port = start_servers()["cassandra"]["port"]
    return Settings(backend="distributed", cassandra_port=port, **overrides)


def shared_session() -> Any:
    if "session" not in _STATE:
        from tongxiu.infra.cassandra_store import connect

        try:
            _STATE["session"] = connect(base_settings())
        except Exception as exc:
            raise AssertionError(f"cannot connect to Cassandra: {exc}\n{_log_tails('cassandra')}") from exc
    return _STATE["session"]


def make_keyspace(prefix: str = "tongxiu_test") -> Settings:
    from tongxiu.infra.cassandra_store import migrate

    settings = base_settings(keyspace=f"{prefix}_{uuid.uuid4().hex[:10]}")
    session = shared_session()
    try:
        migrate(session, settings)
    except Exception as exc:
        raise AssertionError(f"migrate failed: {exc}\n{_log_tails('cassandra')}") from exc
    _STATE["keyspaces"].append(settings.keyspace)
    return settings


def shutdown() -> None:
    session = _STATE.pop("session", None)
    if session is None:
        return
    for ks in _STATE["keyspaces"]:
        with contextlib.suppress(Exception):
            session.execute(f"DROP KEYSPACE IF EXISTS {ks}", timeout=120)
    _STATE["keyspaces"].clear()
    session.cluster.shutdown()


@pytest.fixture(scope="session")
def servers() -> dict[str, dict[str, Any]]:
    return start_servers()


@pytest.fixture(scope="session")
def cassandra_session(servers: dict[str, dict[str, Any]]) -> Iterator[Any]:
    yield shared_session()


@pytest.fixture(scope="session")
def fresh_keyspace(cassandra_session: Any) -> Callable[..., Settings]:
    return make_keyspace


def drop_keyspace(settings: Settings) -> None:
    """Drop a keyspace made by :func:`make_keyspace` as soon as its test is done (a run makes
    hundreds; kept to the session's end, their tables exhausted Cassandra's heap here)."""
    with contextlib.suppress(ValueError):
        _STATE["keyspaces"].remove(settings.keyspace)
    with contextlib.suppress(Exception):
        shared_session().execute(f"DROP KEYSPACE IF EXISTS {settings.keyspace}", timeout=120)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutdown()

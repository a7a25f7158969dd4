"""The contract suites share the integration fixtures (one server start, one Cassandra
session, one keyspace per run)."""

from tests.integration.conftest import (  # noqa: F401
    cassandra_session,
    fresh_keyspace,
    pytest_sessionfinish,
    servers,
)

"""The driver session ``connect`` opens: the CQL protocol version of the settings (issue 11,
session 11: v4 by default — the Python driver frames v5 in Python, CRC24 + CRC32 per segment)."""

from __future__ import annotations

import pytest

from tests.integration.conftest import base_settings
from tongxiu.infra.cassandra_session import connect
from tongxiu.services.config import Settings

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("version", [4, 5])
def test_connect_speaks_the_protocol_version_of_the_settings(servers: object, version: int) -> None:
    session = connect(base_settings(cassandra_protocol_version=version))
    try:
        assert session.cluster.protocol_version == version
        row = session.execute("SELECT release_version FROM system.local WHERE key = 'local'").one()
        assert row.release_version
    finally:
        session.cluster.shutdown()


def test_the_default_is_v4_and_a_variable_chooses_v5() -> None:
    assert Settings().cassandra_protocol_version == 4
    assert Settings.load(env={"TONGXIU_CASSANDRA_PROTOCOL_VERSION": "5"}).cassandra_protocol_version == 5
    with pytest.raises(ValueError, match="cassandra_protocol_version"):
        Settings.load(env={"TONGXIU_CASSANDRA_PROTOCOL_VERSION": "3"})

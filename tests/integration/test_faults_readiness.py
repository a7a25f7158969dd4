"""The worker's readiness means its writes can succeed: a Cassandra node answering is not
enough, the consistency levels the worker writes with (and its LWTs' Paxos quorum) must be
achievable (``entrypoints/supervisor.py``: ``cassandra_up``). On the shared single node a
keyspace replicated 3 times has 1 of its 3 replicas up: ONE works, a quorum does not. (The
3-node case, one node killed, is in ``test_faults_cluster.py``.)"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tongxiu.entrypoints.supervisor import cassandra_quorum, cassandra_up, probe_levels
from tongxiu.infra.cassandra_store import migrate
from tongxiu.services.config import Settings

pytestmark = pytest.mark.integration


def test_readiness_needs_the_workers_consistency_not_just_a_node(
    cassandra_session: Any, fresh_keyspace: Callable[..., Settings]
) -> None:
    single = fresh_keyspace("tongxiu_test_ready")  # replication factor 1
    assert cassandra_up(single)
    rf3 = single.model_copy(update={"keyspace": single.keyspace + "_rf3",
                                    "cassandra_replication": {"class": "SimpleStrategy", "replication_factor": 3}})
    migrate(cassandra_session, rf3)
    try:
        one = rf3.model_copy(update={"consistency": "ONE", "serial_consistency": "LOCAL_SERIAL"})
        assert probe_levels(one) == ["ONE", "LOCAL_QUORUM"]
        assert not cassandra_up(one), "the appends' LWTs need 2 of 3 replicas; only 1 is up"
        assert not cassandra_up(rf3.model_copy(update={"consistency": "QUORUM"}))
        host = rf3.cassandra_contact_points[0]
        assert not cassandra_quorum(rf3.model_copy(update={"consistency": "TWO"}), host)
    finally:
        cassandra_session.execute(f"DROP KEYSPACE IF EXISTS {rf3.keyspace}", timeout=120)
    # a keyspace not created yet: nothing to check beyond the node answering
    assert cassandra_up(single.model_copy(update={"keyspace": "tongxiu_not_created_yet"}))
    # nothing answering at all
    assert not cassandra_up(single.model_copy(update={"cassandra_port": 1}))

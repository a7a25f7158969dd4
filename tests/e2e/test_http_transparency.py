"""Issue 9 over HTTP: a department checks its receipt with a proof from the service and the
checkpoint it kept; consistency between two checkpoints; errors name the parameter."""

from __future__ import annotations

from tests.e2e.test_http_api import client, dept_token
from tests.support import make_world
from tongxiu.events import merkle
from tongxiu.events.tlog import Checkpoint, event_leaf_data
from tongxiu.services.app import Tongxiu
from tongxiu.services.ports import ManualClock


def test_receipt_inclusion_and_consistency_over_http(app: Tongxiu, clock: ManualClock) -> None:
    w = make_world(app, clock)
    first = w.serve("D1")
    assert first.log is not None
    kept = first.log.checkpoint
    w.at(1)
    w.pay("D1")
    c = client(app, dept_token("samr-deqing"))
    now = Checkpoint.model_validate(c.get("/api/log/checkpoint").json())
    assert now.verify({kept.key}) and now.size > kept.size
    e, index = first.events[0], first.log.leaves[0]
    r = c.get("/api/log/proof/inclusion", params={"leaf": index})
    assert r.status_code == 200
    proof = [bytes.fromhex(h) for h in r.json()["inclusion"]]
    leaf = merkle.leaf_hash(event_leaf_data(stream=first.stream, seq=e.seq, event_id=e.event_id, hash=e.hash))
    assert merkle.verify_inclusion(leaf, index, now.size, proof, bytes.fromhex(now.root))
    r = c.get("/api/log/proof/consistency", params={"first": kept.size, "size": now.size})
    proof = [bytes.fromhex(h) for h in r.json()["consistency"]]
    assert merkle.verify_consistency(kept.size, now.size, bytes.fromhex(kept.root), bytes.fromhex(now.root), proof)
    bad = c.get("/api/log/proof/inclusion", params={"leaf": now.size + 5})
    assert bad.status_code == 400 and "leaf" in bad.json()["detail"]
    assert c.get("/api/log/proof/consistency", params={"first": now.size + 1}).status_code == 400
    assert client(app, None).get("/api/log/checkpoint").status_code == 401

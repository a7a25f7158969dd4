"""``event_id_for`` computes uuid5 ids without the ``UUID`` object (issue 11, session 14): the
text must stay exactly ``str(uuid.uuid5(EVENT_NAMESPACE, "<department>/<submission_id>/<index>"))``,
the ids every ledger already holds (they are hashed into the chain)."""

from __future__ import annotations

import random
import uuid

from tongxiu.services.submission import EVENT_NAMESPACE, event_id_for


def reference(department: str, submission_id: str, index: int) -> str:
    return str(uuid.uuid5(EVENT_NAMESPACE, f"{department}/{submission_id}/{index}"))


def test_event_ids_are_uuid5_of_the_namespace() -> None:
    rng = random.Random(14)
    alphabet = "abcXYZ0129-/:_ 市监合规〔〕\u00e9"
    for n in range(5000):
        department = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 20)))
        submission_id = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        index = rng.randint(0, 10_000) if n % 7 else n
        assert event_id_for(department, submission_id, index) == reference(department, submission_id, index)


def test_a_known_id_is_unchanged() -> None:
    got = event_id_for("samr-deqing", "9133052110000018XE/3", 0)
    assert got == reference("samr-deqing", "9133052110000018XE/3", 0)
    parsed = uuid.UUID(got)
    assert (parsed.version, parsed.variant) == (5, uuid.RFC_4122)
    assert got == str(parsed)

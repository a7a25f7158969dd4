"""The write path encodes each event once (``Encoded.texts``) and splices that text into the
digest, the signed bytes and the stored envelope: the bytes must be exactly those of encoding
the whole structure (hashes and signatures of existing ledgers depend on them)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tests.support import advice, decision
from tongxiu.events.envelope import (
    Envelope,
    canonical,
    canonical_with,
    encode_submission,
    event_json,
    events_digest,
    signing_bytes,
)
from tongxiu.services.demo import demo_key
from tongxiu.services.submission import sign_submission

KEYS = ["a", "event", "evens", "eventz", "Event", "z", "事件", "\u0000", "e", "", "prev_hash", "stream"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(), st.floats(allow_nan=False))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3), max_leaves=8)


@given(st.dictionaries(st.sampled_from(KEYS) | st.text(), values, max_size=8), st.sampled_from(KEYS) | st.text(), values)
def test_canonical_with_is_canonical_of_the_whole(obj: dict[str, Any], key: str, value: Any) -> None:
    obj.pop(key, None)
    text = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(value)
    assert canonical_with(obj, key, text) == canonical({**obj, key: value})


def test_a_submission_encoded_once_gives_the_same_digest_signed_bytes_and_envelope() -> None:
    events = [decision("D-once"), advice("D-once")]  # several events, Chinese text, dates, amounts
    sub = sign_submission(demo_key("samr-deqing"), department="samr-deqing", stream="91330521100001000X",
                          submission_id="once-1", occurred_at=datetime(2026, 3, 1, 9, tzinfo=timezone(timedelta(hours=8))),
                          events=events)
    enc = encode_submission(events)
    assert enc.digest == events_digest(events)
    for i, signed in enumerate(sub.events):
        whole = signing_bytes(stream=sub.stream, department=sub.department, submission_id=sub.submission_id,
                              occurred_at=sub.occurred_at, index=i, legacy_code=False, event=signed.event,
                              submission_digest=enc.digest, submission_size=len(events))
        assert sub.signed_bytes(i, encoded=enc) == whole
        common: dict[str, Any] = dict(event_id=f"e{i}", stream=sub.stream, seq=i + 1, department=sub.department,
                                      submission_id=sub.submission_id, index=i, occurred_at=sub.occurred_at,
                                      recorded_at=datetime(2026, 3, 1, 2, tzinfo=UTC), legacy_code=False,
                                      event=signed.event, encoded_event=event_json(signed.event),
                                      signature=signed.signature, submission_digest=enc.digest,
                                      submission_size=len(events), prev_hash="0" * 64)
        spliced = Envelope.recorded(**common, event_text=enc.texts[i])
        whole_env = Envelope.recorded(**common)
        assert spliced.to_json() == whole_env.to_json()
        assert spliced.hash == whole_env.hash == spliced.compute_hash()


def test_a_recorded_envelope_keeps_its_stored_text_while_it_lives_and_a_copy_is_encoded_afresh() -> None:
    import gc

    from tongxiu.events import envelope as envelope_module

    events = [decision("D-text")]
    sub = sign_submission(demo_key("samr-deqing"), department="samr-deqing", stream="91330521100001000X",
                          submission_id="text-1", occurred_at=datetime(2026, 3, 1, 9, tzinfo=UTC), events=events)
    enc = encode_submission(events)
    env = Envelope.recorded(event_id="e0", stream=sub.stream, seq=1, department=sub.department,
                            submission_id=sub.submission_id, index=0, occurred_at=sub.occurred_at,
                            recorded_at=datetime(2026, 3, 1, 10, tzinfo=UTC), legacy_code=False,
                            event=sub.events[0].event, encoded_event=enc.events[0], signature=sub.events[0].signature,
                            submission_digest=enc.digest, submission_size=1, prev_hash="0" * 64)
    key = id(env)
    text = env.to_json()
    assert envelope_module._ENCODED[key][1] == text  # the canonical text, kept
    assert json.loads(text) == json.loads(env.model_dump_json())  # the same values as pydantic's JSON
    copy = env.model_copy(update={"seq": 2})
    assert json.loads(copy.to_json())["seq"] == 2  # another object: not the first one's text
    del env
    gc.collect()
    assert key not in envelope_module._ENCODED  # dropped with the envelope

"""The contract suites, written once per port (pyeventsourcing style).

Each ``*Contract`` class is abstract (its name does not start with ``Test``, so pytest does not
collect it); a backend subclasses it as ``Test<Backend><Port>`` and overrides only the factory
(``make_log``, ``make_rejections``, ``make_store``, ``make_offsets``). Backends that cannot keep
one property override a ``supports_*`` flag, and the test skips with the reason.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tongxiu.events.envelope import GENESIS_HASH, Envelope, Reason, Receipt
from tongxiu.events.models import SubscriptionAdded
from tongxiu.services.ports import (
    ConcurrencyError,
    EventLog,
    OffsetStore,
    PartChanges,
    ProjectionStore,
    RejectionLog,
    RejectionRecord,
    iter_stream,
)

T0 = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)


def uid(prefix: str = "s") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def envelopes(stream: str, after: int, n: int, *, department: str = "samr", submission_id: str | None = None,
              prev_hash: str = GENESIS_HASH) -> list[Envelope]:
    sub = submission_id or uid("sub")
    out: list[Envelope] = []
    prev = prev_hash
    for i in range(n):
        seq = after + 1 + i
        env = Envelope(
            event_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{stream}/{department}/{sub}/{i}/{uuid.uuid4()}")),
            stream=stream,
            seq=seq,
            department=department,
            submission_id=sub,
            index=i,
            occurred_at=T0 + timedelta(minutes=seq),
            recorded_at=T0 + timedelta(minutes=seq, seconds=1),
            event=SubscriptionAdded(jurisdictions=["33"]),
            signature="ab" * 64,
            prev_hash=prev,
        ).sealed()
        prev = env.hash
        out.append(env)
    return out


def race(log: EventLog, stream: str, expected: int, contenders: list[list[Envelope]]) -> list[Any]:
    """Append every contender at once (threads behind a barrier): "ok" or the exception each."""
    barrier = threading.Barrier(len(contenders))
    outcomes: list[Any] = [None] * len(contenders)

    def write(i: int) -> None:
        barrier.wait()
        try:
            log.append(stream, expected, contenders[i])
            outcomes[i] = "ok"
        except ConcurrencyError as exc:
            outcomes[i] = exc

    threads = [threading.Thread(target=write, args=(i,)) for i in range(len(contenders))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return outcomes


# --------------------------------------------------------------------------- EventLog


class EventLogContract:
    small_bucket = 3
    """Tests that cross bucket boundaries ask ``make_log(bucket=small_bucket)``; backends
    without buckets ignore it."""
    read_all_stable_under_appends = True
    read_all_reason = ""

    def make_log(self, *, bucket: int | None = None) -> EventLog:
        raise NotImplementedError

    def test_append_and_read_back_exact_bytes(self) -> None:
        log = self.make_log()
        s = uid()
        envs = envelopes(s, 0, 3)
        log.append(s, 0, envs)
        stored = log.read_stream(s)
        assert [x.envelope.seq for x in stored] == [1, 2, 3]
        assert [x.raw for x in stored] == [e.to_json() for e in envs]
        assert [x.envelope for x in stored] == envs
        assert [x.envelope.hash for x in stored] == [e.hash for e in envs]
        assert log.last_seq(s) == 3
        assert [x.envelope.seq for x in log.read_stream(s, from_seq=2)] == [2, 3]
        assert log.read_stream(s, from_seq=4) == []

    def test_unknown_stream_is_empty(self) -> None:
        log = self.make_log()
        assert log.read_stream(uid()) == []
        assert log.last_seq(uid()) == 0

    def test_sequences_are_gap_free_across_appends(self) -> None:
        log = self.make_log()
        s = uid()
        last = 0
        for n in (1, 2, 1, 3):
            log.append(s, last, envelopes(s, last, n))
            last += n
        assert [x.envelope.seq for x in log.read_stream(s)] == list(range(1, last + 1))

    def test_envelopes_must_continue_the_stream(self) -> None:
        log = self.make_log()
        s = uid()
        with pytest.raises(ValueError):
            log.append(s, 0, envelopes(s, 1, 1))  # seq 2 on an empty stream
        with pytest.raises(ValueError):
            log.append(s, 0, envelopes(uid(), 0, 1))  # another stream's envelope
        assert log.last_seq(s) == 0

    def test_wrong_expected_seq_raises_and_writes_nothing(self) -> None:
        log = self.make_log()
        s = uid()
        log.append(s, 0, envelopes(s, 0, 2))
        with pytest.raises(ConcurrencyError):
            log.append(s, 1, envelopes(s, 1, 1))  # stale writer
        with pytest.raises(ConcurrencyError):
            log.append(s, 5, envelopes(s, 5, 1))  # from the future
        with pytest.raises(ConcurrencyError):
            log.append(s, 0, envelopes(s, 0, 1))  # a zombie that thinks the stream is new
        assert log.last_seq(s) == 2
        assert len(log.read_stream(s)) == 2

    def test_two_writers_race_exactly_one_wins(self) -> None:
        log = self.make_log()
        for round_ in range(5):
            s = uid(f"race{round_}")
            log.append(s, 0, envelopes(s, 0, 1))
            contenders = [envelopes(s, 1, 2, department=f"d{i}") for i in range(2)]
            outcomes = race(log, s, 1, contenders)
            assert outcomes.count("ok") == 1, outcomes
            assert all(o == "ok" or isinstance(o, ConcurrencyError) for o in outcomes), outcomes
            winner = contenders[outcomes.index("ok")]
            stored = log.read_stream(s)
            assert [x.envelope for x in stored[1:]] == winner
            assert log.last_seq(s) == 3

    def test_racing_appends_across_buckets(self) -> None:
        log = self.make_log(bucket=self.small_bucket)
        for round_ in range(4):
            s = uid(f"xrace{round_}")
            log.append(s, 0, envelopes(s, 0, 1))
            contenders = [envelopes(s, 1, 5, department=f"d{i}") for i in range(3)]  # seq 2..6
            outcomes = race(log, s, 1, contenders)
            assert outcomes.count("ok") == 1, outcomes
            winner = contenders[outcomes.index("ok")]
            assert [x.envelope for x in log.read_stream(s)][1:] == winner
            assert log.last_seq(s) == 6
            for i, c in enumerate(contenders):
                found = log.find_submission(f"d{i}", c[0].submission_id)
                assert [x.envelope for x in found] == (c if c is winner else [])

    def test_multi_event_append_is_all_or_none(self) -> None:
        log = self.make_log(bucket=self.small_bucket)
        s = uid()
        log.append(s, 0, envelopes(s, 0, 2))
        bad = envelopes(s, 2, 4)
        bad[2] = bad[2].model_copy(update={"seq": 9})  # third envelope does not continue
        with pytest.raises(ValueError):
            log.append(s, 2, bad)
        assert log.last_seq(s) == 2
        assert [x.envelope.seq for x in log.read_stream(s)] == [1, 2]
        good = envelopes(s, 2, 5)  # crosses buckets when the backend has them
        log.append(s, 2, good)
        assert [x.envelope for x in log.read_stream(s)][2:] == good

    def test_stream_longer_than_one_bucket(self) -> None:
        log = self.make_log(bucket=self.small_bucket)
        s = uid()
        envs: list[Envelope] = []
        last = 0
        for n in (2, 1, 4, 3, 1):  # 11 events, several bucket boundaries, some appends cross one
            chunk = envelopes(s, last, n)
            log.append(s, last, chunk)
            envs += chunk
            last += n
        assert [x.envelope for x in log.read_stream(s)] == envs
        assert [x.envelope.seq for x in log.read_stream(s, from_seq=3)] == list(range(3, 12))
        assert [x.envelope.seq for x in log.read_stream(s, from_seq=7)] == list(range(7, 12))
        assert log.last_seq(s) == 11
        with pytest.raises(ConcurrencyError):
            log.append(s, 6, envelopes(s, 6, 1))

    def test_read_stream_pages_with_limit(self) -> None:
        """History is read a page at a time (``limit``), across bucket boundaries, and
        ``iter_stream`` walks a whole stream in bounded pages."""
        log = self.make_log(bucket=self.small_bucket)
        s = uid()
        envs = envelopes(s, 0, 11)
        log.append(s, 0, envs[:6])
        log.append(s, 6, envs[6:])
        assert [x.envelope.seq for x in log.read_stream(s, limit=4)] == [1, 2, 3, 4]
        assert [x.envelope.seq for x in log.read_stream(s, from_seq=5, limit=4)] == [5, 6, 7, 8]
        assert [x.envelope.seq for x in log.read_stream(s, from_seq=9, limit=4)] == [9, 10, 11]
        assert log.read_stream(s, from_seq=12, limit=4) == []
        assert log.read_stream(s, limit=0) == []
        assert [x.envelope for x in iter_stream(log, s, batch=3)] == envs
        assert [x.envelope.seq for x in iter_stream(log, s, from_seq=10, batch=3)] == [10, 11]

    def test_read_stream_raw_is_read_stream_not_decoded(self) -> None:
        """The audit's read (each event decoded once, by the reader): the same stored JSON,
        the same pages, as ``read_stream``."""
        log = self.make_log(bucket=self.small_bucket)
        s = uid()
        log.append(s, 0, envelopes(s, 0, 7))
        assert log.read_stream_raw(s) == [x.raw for x in log.read_stream(s)]
        assert log.read_stream_raw(s, from_seq=3, limit=3) == [x.raw for x in log.read_stream(s, from_seq=3, limit=3)]
        assert [Envelope.from_json(r).seq for r in log.read_stream_raw(s, from_seq=6, limit=4)] == [6, 7]
        assert log.read_stream_raw(s, from_seq=8) == [] and log.read_stream_raw(uid()) == []

    def test_find_submission(self) -> None:
        log = self.make_log()
        s = uid()
        log.append(s, 0, envelopes(s, 0, 1, submission_id="other"))
        mine = envelopes(s, 1, 3, department="tax", submission_id="sub-42")
        log.append(s, 1, mine)
        found = log.find_submission("tax", "sub-42")
        assert [x.envelope for x in found] == mine
        assert [x.raw for x in found] == [e.to_json() for e in mine]
        assert log.find_submission("samr", "sub-42") == []
        assert log.find_submission("tax", "nope") == []

    def test_find_submission_ignores_a_losing_append(self) -> None:
        log = self.make_log()
        s = uid()
        log.append(s, 0, envelopes(s, 0, 1, department="a", submission_id="won"))
        with pytest.raises(ConcurrencyError):
            log.append(s, 0, envelopes(s, 0, 1, department="b", submission_id="lost"))
        assert log.find_submission("b", "lost") == []
        assert len(log.find_submission("a", "won")) == 1

    def test_streams_are_listed_sorted(self) -> None:
        log = self.make_log()
        before = set(log.streams())
        names = [uid("zz"), uid("aa"), uid("mm")]
        for name in names:
            log.append(name, 0, envelopes(name, 0, 1))
        listed = log.streams()
        assert listed == sorted(listed)
        assert set(listed) - before == set(names)

    def test_read_all_covers_everything_in_stream_order(self) -> None:
        log = self.make_log()
        s1, s2 = uid("b"), uid("a")
        log.append(s1, 0, envelopes(s1, 0, 2))
        log.append(s2, 0, envelopes(s2, 0, 3))
        log.append(s1, 2, envelopes(s1, 2, 1))
        everything = log.read_all(after=0, limit=1_000_000)
        positions = [x.position for x in everything]
        assert positions == sorted(positions) and len(set(positions)) == len(positions)
        assert all(p > 0 for p in positions)
        mine = [x for x in everything if x.envelope.stream in (s1, s2)]
        assert len(mine) == 6
        for s, n in ((s1, 3), (s2, 3)):
            assert [x.envelope.seq for x in mine if x.envelope.stream == s] == list(range(1, n + 1))
        # paging by position yields the same events once each
        paged: list[Any] = []
        after = 0
        while True:
            chunk = log.read_all(after=after, limit=2)
            if not chunk:
                break
            assert len(chunk) <= 2
            paged += chunk
            after = chunk[-1].position
        assert [(x.position, x.raw) for x in paged] == [(x.position, x.raw) for x in everything]

    def test_read_all_positions_are_stable_under_appends(self) -> None:
        if not self.read_all_stable_under_appends:
            pytest.skip(self.read_all_reason)
        log = self.make_log()
        s1, s2 = uid("b"), uid("a")
        log.append(s1, 0, envelopes(s1, 0, 1))
        first = {x.envelope.event_id: x.position for x in log.read_all(limit=1_000_000)}
        log.append(s2, 0, envelopes(s2, 0, 1))
        log.append(s1, 1, envelopes(s1, 1, 1))
        again = {x.envelope.event_id: x.position for x in log.read_all(limit=1_000_000)}
        assert all(again[k] == v for k, v in first.items())
        assert max(again.values()) > max(first.values())

    def test_tamper_for_test_overwrites_raw(self) -> None:
        log = self.make_log()
        s = uid()
        envs = envelopes(s, 0, 2)
        log.append(s, 0, envs)
        forged = envs[1].model_copy(update={"department": "forger"}).to_json()
        log.tamper_for_test(s, 2, forged)
        stored = log.read_stream(s)
        assert stored[1].raw == forged
        assert stored[1].envelope.compute_hash() != stored[1].envelope.hash
        assert stored[0].raw == envs[0].to_json()


# --------------------------------------------------------------------------- RejectionLog


def rejection(department: str, submission_id: str, stream: str, *, authenticated: bool, code: str = "bad",
              submission: dict[str, Any] | str | None = None) -> RejectionRecord:
    receipt = Receipt(
        submission_id=submission_id,
        department=department,
        stream=stream,
        accepted=False,
        recorded_at=T0,
        reasons=[Reason(code=code, field="events[0]", message=f"{code} 原因", detail={"n": 1})],
    )
    return RejectionRecord(
        receipt=receipt,
        submission={"submission_id": submission_id, "note": "不通过"} if submission is None else submission,
        authenticated=authenticated,
    )


class RejectionLogContract:
    def make_rejections(self) -> RejectionLog:
        raise NotImplementedError

    def test_get_returns_only_authenticated_and_the_first(self) -> None:
        log = self.make_rejections()
        d, s = uid("dept"), uid("st")
        log.record(rejection(d, "sub-1", s, authenticated=False, code="signature_invalid"))
        assert log.get(d, "sub-1") is None
        first = rejection(d, "sub-1", s, authenticated=True, code="first")
        log.record(first)
        log.record(rejection(d, "sub-1", s, authenticated=True, code="second"))
        got = log.get(d, "sub-1")
        assert got is not None
        assert got == first
        assert got.receipt.codes == ["first"]
        assert log.get(d, "sub-2") is None
        assert log.get(uid("x"), "sub-1") is None

    def test_raw_text_submission_round_trips(self) -> None:
        log = self.make_rejections()
        d = uid("dept")
        rec = rejection(d, "sub-raw", "st", authenticated=True, submission="{not json")
        log.record(rec)
        assert log.get(d, "sub-raw") == rec

    def test_list_filters_in_order_with_paging(self) -> None:
        log = self.make_rejections()
        d1, d2, s1, s2 = uid("d1"), uid("d2"), uid("s1"), uid("s2")
        records = [
            rejection(d1, "a", s1, authenticated=True, code="c1"),
            rejection(d2, "b", s1, authenticated=False, code="c2"),
            rejection(d1, "c", s2, authenticated=True, code="c3"),
            rejection(d1, "d", s1, authenticated=False, code="c4"),
        ]
        for r in records:
            log.record(r)
        assert log.list(department=d1) == [records[0], records[2], records[3]]
        assert log.list(stream=s1) == [records[0], records[1], records[3]]
        assert log.list(department=d1, stream=s1) == [records[0], records[3]]
        assert log.list(department=d1, limit=2) == [records[0], records[2]]
        assert log.list(department=d1, limit=2, offset=2) == [records[3]]
        assert log.list(department=d1, offset=5) == []
        everything = log.list(limit=1_000_000)
        assert [r for r in everything if r.receipt.department in (d1, d2)] == records

    def test_count_without_listing(self) -> None:
        log = self.make_rejections()
        d1, d2, s1, s2 = uid("d1"), uid("d2"), uid("s1"), uid("s2")
        before = log.count()
        for dept, stream in ((d1, s1), (d2, s1), (d1, s2), (d1, s1)):
            log.record(rejection(dept, uid("sub"), stream, authenticated=True))
        assert log.count() == before + 4
        assert log.count(department=d1) == 3
        assert log.count(stream=s1) == 3
        assert log.count(department=d1, stream=s1) == 2
        assert log.count(department=uid("nobody")) == 0


# --------------------------------------------------------------------------- ProjectionStore


class ProjectionStoreContract:
    def make_store(self) -> ProjectionStore:
        raise NotImplementedError

    def test_empty(self) -> None:
        store = self.make_store()
        p = uid("proj")
        assert store.position(p) == 0
        assert store.load(p, "k") is None
        assert store.keys(p) == []
        assert store.load_many(p, ["a", "b"]) == {}

    def test_save_writes_states_and_position_together(self) -> None:
        store = self.make_store()
        p = uid("proj")
        store.save(p, {"b": {"n": 1, "名": "甲"}, "a": {"n": [1, 2]}}, 7)
        assert store.position(p) == 7
        assert store.load(p, "a") == {"n": [1, 2]}
        assert store.load(p, "b") == {"n": 1, "名": "甲"}
        assert store.keys(p) == ["a", "b"]
        store.save(p, {"a": {"n": 3}}, 9)
        assert store.position(p) == 9
        assert store.load(p, "a") == {"n": 3}
        assert store.load(p, "b") == {"n": 1, "名": "甲"}
        store.save(p, {}, 10)  # position alone
        assert store.position(p) == 10
        assert store.load_many(p, ["a", "zz", "b"]) == {"a": {"n": 3}, "b": {"n": 1, "名": "甲"}}

    def test_large_states_are_saved(self) -> None:
        """A long history folds to a large view (hundreds of KB): it must still be saved."""
        store = self.make_store()
        p = uid("proj")
        big = {"records": {f"D{i}": {"basis": "市场监管总局令第107号 " * 20, "i": i} for i in range(400)}}
        store.save(p, {"big": big, "small": {"n": 1}}, 3)
        assert store.load(p, "big") == big
        assert store.load(p, "small") == {"n": 1}
        assert store.position(p) == 3
        assert store.keys(p) == ["big", "small"]

    def test_projections_are_separate_and_reset(self) -> None:
        store = self.make_store()
        p, q = uid("p"), uid("q")
        store.save(p, {"k": {"v": 1}}, 3)
        store.save(q, {"k": {"v": 2}}, 4)
        store.reset(p)
        assert store.position(p) == 0
        assert store.load(p, "k") is None
        assert store.keys(p) == []
        assert store.position(q) == 4
        assert store.load(q, "k") == {"v": 2}
        store.save(p, {"j": {"v": 5}}, 1)
        assert store.keys(p) == ["j"]

    def test_reload_from_a_new_adapter(self) -> None:
        store = self.make_store()
        p = uid("p")
        store.save(p, {"x": {"deep": {"list": [1, "二", None]}}}, 42)
        again = self.make_store()
        assert again.position(p) == 42
        assert again.load(p, "x") == {"deep": {"list": [1, "二", None]}}

    def test_many_keys_in_one_save(self) -> None:
        store = self.make_store()
        p = uid("p")
        updates = {f"k{i:04d}": {"i": i, "pad": "x" * 300} for i in range(300)}  # over one batch's size
        store.save(p, updates, 300)
        assert store.position(p) == 300
        assert store.keys(p) == sorted(updates)
        assert store.load(p, "k0299") == updates["k0299"]


    def test_documents_are_stored_as_parts_and_updated_in_place(self) -> None:
        """An enterprise document is kept as parts: ``write`` changes only the parts it names
        (a record, a new list element, a deleted entry), the rest stays as it was."""
        store = self.make_store()
        p = uid("p")
        key = "enterprise:E1"
        doc = {
            "enterprise": "E1", "seq": 2, "submissions": ["s1", "s2"],
            "credit": {"enterprise": "E1", "standing": "good", "records": {"D1": {"n": 1}, "D/2": {"n": 2}},
                       "repairs_granted_on": []},
            "rectification": {"enterprise": "E1", "items": {"A/1": {"s": "open"}}},
            "sync": {"enterprise": "E1", "deliveries": {}},
        }
        store.save(p, {key: doc}, 2)
        assert store.load(p, key) == doc
        head = store.load_head(p, key)
        assert head is not None and head["seq"] == 2
        assert head["credit"]["records"] == {} and head["submissions"] == []
        new_head = {**head, "seq": 3}
        store.write(p, {key: PartChanges({
            "": new_head,
            "credit.records/D1": {"n": 10},
            "rectification.items/A/1": None,
            "submissions#000000000": ["s1", "s2", "s3"],
            "sync.deliveries/x/y": {"d": 1},
        })}, 3, expected=2)
        got = store.load(p, key)
        assert got is not None
        assert got["seq"] == 3
        assert got["credit"]["records"] == {"D1": {"n": 10}, "D/2": {"n": 2}}
        assert got["rectification"]["items"] == {}
        assert got["submissions"] == ["s1", "s2", "s3"]
        assert got["sync"]["deliveries"] == {"x/y": {"d": 1}}
        assert store.position(p) == 3
        # a whole replacement drops the parts it does not name
        store.save(p, {key: doc}, 4)
        assert store.load(p, key) == doc
        assert store.keys(p) == [key]

    def test_one_write_of_several_documents_each_as_its_change_says(self) -> None:
        """One ``write`` naming several documents: one written whole (its parts not named are
        gone), one losing a part and gaining another, one new; each ends as its own change says,
        whatever the others' (the SQLite store sends each kind of row in one statement)."""
        store = self.make_store()
        p = uid("p")
        doc = {"subscriber": "x", "pending": {"a": {"n": 1}, "b": {"n": 2}}, "seen": {"s1": 1}}
        store.save(p, {"inbox:x": doc, "inbox:y": {**doc, "subscriber": "y"}}, 1)
        store.write(p, {
            "inbox:x": PartChanges({"": {"subscriber": "x", "pending": {}, "seen": {}}, "pending/c": {"n": 3}},
                                   whole=True),
            "inbox:y": PartChanges({"pending/a": None, "pending/d": {"n": 4}}),
            "inbox:z": PartChanges({"": {"subscriber": "z", "pending": {}, "seen": {}}, "seen/s2": 5}),
        }, 2, expected=1)
        assert store.load(p, "inbox:x") == {"subscriber": "x", "pending": {"c": {"n": 3}}, "seen": {}}
        assert store.load(p, "inbox:y") == {"subscriber": "y", "pending": {"b": {"n": 2}, "d": {"n": 4}},
                                            "seen": {"s1": 1}}
        assert store.load(p, "inbox:z") == {"subscriber": "z", "pending": {}, "seen": {"s2": 5}}
        assert sorted(store.keys(p)) == ["inbox:x", "inbox:y", "inbox:z"]
        assert store.position(p) == 2

    def test_saving_whole_documents_again_keeps_exactly_the_new_one(self) -> None:
        """``save`` of a whole document replaces it (an adapter may write only the parts that
        differ), also after another adapter reset the projection in between."""
        store, other = self.make_store(), self.make_store()
        p = uid("p")
        key = "enterprise:E2"

        def doc(records: dict[str, Any], seq: int) -> dict[str, Any]:
            return {"enterprise": "E2", "seq": seq, "submissions": [f"s{i}" for i in range(seq)],
                    "credit": {"enterprise": "E2", "records": records, "repairs_granted_on": []},
                    "rectification": {"enterprise": "E2", "items": {}}, "sync": {"enterprise": "E2", "deliveries": {}}}

        first = doc({"D1": {"n": 1}, "D2": {"n": 2}, "D3": {"n": 3}}, 70)
        store.save(p, {key: first}, 1)
        second = doc({"D1": {"n": 1}, "D2": {"n": 20}, "D4": {"n": 4}}, 71)
        store.save(p, {key: second}, 2)
        assert store.load(p, key) == second
        assert other.load(p, key) == second
        other.reset(p)
        store.save(p, {key: second}, 3)
        assert other.load(p, key) == second
        assert store.position(p) == 3

    def test_write_refuses_a_stale_position_and_writes_nothing(self) -> None:
        store = self.make_store()
        p = uid("p")
        store.save(p, {"k": {"v": 1}}, 5)
        with pytest.raises(ConcurrencyError):
            store.write(p, {"k": PartChanges({"": {"v": 2}})}, 6, expected=4)
        assert store.load(p, "k") == {"v": 1}
        assert store.position(p) == 5
        store.write(p, {"k": PartChanges({"": {"v": 2}})}, 6, expected=5)
        assert store.load(p, "k") == {"v": 2}
        assert store.position(p) == 6


# --------------------------------------------------------------------------- OffsetStore


class OffsetStoreContract:
    def make_offsets(self) -> OffsetStore:
        raise NotImplementedError

    def test_offsets_start_at_zero_and_resume(self) -> None:
        offsets = self.make_offsets()
        c1, c2 = uid("c"), uid("c")
        assert offsets.get(c1) == 0
        offsets.put(c1, 5)
        offsets.put(c2, 2)
        offsets.put(c1, 9)
        assert offsets.get(c1) == 9
        assert offsets.get(c2) == 2
        again = self.make_offsets()
        assert again.get(c1) == 9

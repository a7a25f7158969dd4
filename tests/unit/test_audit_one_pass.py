"""``verify_and_replay`` reads and decodes each event once and serves both the verification
and the replay: its results must be exactly those of ``verify_streams`` and ``replay``, on an
intact ledger and on a tampered one (issue 11, row b)."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, timedelta
from pathlib import Path

from tests.fixture_ledger import LEDGER_KEY
from tongxiu.events.envelope import Envelope
from tongxiu.infra.bootstrap import open_embedded
from tongxiu.infra.embedded import LocalInbox, LocalTransport
from tongxiu.services.app import Tongxiu
from tongxiu.services.audit import (
    Replay,
    Verification,
    _check_chain,
    _keys,
    iter_envelopes,
    replay,
    verify_and_replay,
    verify_range,
    verify_streams,
)
from tongxiu.services.config import Settings
from tongxiu.services.demo import START, run_demo
from tongxiu.services.ports import ManualClock

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "ledger-2026-12-01" / "ledger.sqlite3"


def demo_app(tmp: Path) -> Tongxiu:
    clock = ManualClock(START)
    app = open_embedded(Settings(data_dir=tmp), clock=clock)
    run_demo(app, clock, transport=LocalTransport(app), inbox=LocalInbox(app),
             say=lambda _: None)
    app.process()
    return app


def same_as_two_passes(app: Tongxiu, group: int = 1000) -> int:
    replays: dict[str, Replay] = {}
    order: list[str] = []
    progressed: list[int] = []

    def each(r: Replay) -> None:
        replays[r.enterprise] = r
        order.append(r.enterprise)
        assert len(progressed) == len(order) - 1  # progress follows each stream's replay

    one = verify_and_replay(app.log, app.rules, each=each, group=group,
                            progress=lambda: progressed.append(len(order)))
    assert one == verify_streams(app.log)
    streams = [s for s in app.log.streams() if s != "registry"]
    assert order == streams and progressed == list(range(1, len(streams) + 1))
    for stream in streams:
        two = replay(app.log, app.rules, stream)
        assert replays[stream].events == two.events
        assert replays[stream].state.model_dump_json() == two.state.model_dump_json()
    return len(streams)


def test_one_pass_equals_verify_then_replay(tmp_path: Path) -> None:
    app = demo_app(tmp_path)
    try:
        assert same_as_two_passes(app) >= 1
        assert verify_streams(app.log).ok
    finally:
        app.close()


def test_one_pass_reports_the_same_problems_on_a_tampered_ledger(tmp_path: Path) -> None:
    app = demo_app(tmp_path)
    try:
        stream = next(s for s in app.log.streams() if s != "registry" and app.log.last_seq(s) >= 3)
        body = json.loads(app.log.read_stream(stream, from_seq=2, limit=1)[0].raw)
        body["submission_id"] = body["submission_id"] + "-forged"
        app.log.tamper_for_test(stream, 2, json.dumps(body, ensure_ascii=False))
        result = verify_and_replay(app.log, app.rules)
        assert not result.ok and result.first_bad is not None and result.first_bad["stream"] == stream
        same_as_two_passes(app)
    finally:
        app.close()


def fixture_app(tmp: Path) -> Tongxiu:
    """The ledger fixture (six enterprises of 19-20 events, written by an older ``main``)."""
    (tmp / "ledger").mkdir()
    shutil.copy(FIXTURE, tmp / "ledger" / "ledger.sqlite3")
    return open_embedded(Settings(data_dir=tmp / "ledger"), clock=ManualClock((START + timedelta(days=200)).astimezone(UTC)),
                         key=LEDGER_KEY)


def test_streams_folded_a_group_at_a_time_give_the_same_replays_and_problems(tmp_path: Path) -> None:
    """Streams are checked until a group's events are held, then folded in order: any group
    size (one stream at a time, several, all) gives each stream's replay, in stream order,
    and the same verification, on an intact and on a tampered ledger."""
    app = fixture_app(tmp_path)
    try:
        sizes = [app.log.last_seq(s) for s in app.log.streams() if s != "registry"]
        assert len(sizes) >= 6
        for group in (0, 1, sizes[0], sizes[0] + 1, 3 * max(sizes), sum(sizes), 10**6):
            assert same_as_two_passes(app, group) == len(sizes)
        stream = [s for s in app.log.streams() if s != "registry"][2]
        body = json.loads(app.log.read_stream(stream, from_seq=3, limit=1)[0].raw)
        body["submission_id"] = body["submission_id"] + "-forged"
        app.log.tamper_for_test(stream, 3, json.dumps(body, ensure_ascii=False))  # type: ignore[attr-defined]
        for group in (1, sizes[0] + 1, 3 * max(sizes), 10**6):
            result = verify_and_replay(app.log, app.rules, group=group)
            assert not result.ok and result.first_bad is not None
            assert (result.first_bad["stream"], result.first_bad["seq"]) == (stream, 3)
            same_as_two_passes(app, group)
    finally:
        app.close()


def test_pages_follow_the_decoded_seq_and_decode_like_from_json(tmp_path: Path) -> None:
    app = demo_app(tmp_path)
    try:
        stream = max((s for s in app.log.streams() if s != "registry"), key=app.log.last_seq)
        paged = list(iter_envelopes(app.log, stream, batch=2))
        assert [e.seq for e in paged] == list(range(1, app.log.last_seq(stream) + 1))
        assert paged == [Envelope.from_body(json.loads(s.raw)) for s in app.log.read_stream(stream)]
    finally:
        app.close()


def test_a_range_is_checked_up_to_its_last_event_across_pages(tmp_path: Path) -> None:
    """``verify_range`` (a history page's check) stops at ``last``, wherever a page of the
    read ends, and counts and reports only the events in the range."""
    app = demo_app(tmp_path)
    try:
        stream = max((s for s in app.log.streams() if s != "registry"), key=app.log.last_seq)
        n = app.log.last_seq(stream)
        assert n >= 5
        registry = Verification()
        _keys(app.log, registry)
        for batch in (1, 2, 3, 1000):
            for first, last in ((1, n), (2, 3), (2, 4), (n, n)):
                result = Verification()
                keys = _keys(app.log, result)
                pages = list(_check_chain(app.log, stream, result, keys, first=first, last=last, batch=batch))
                assert [e.envelope.seq for page in pages for e in page] == list(range(first, last + 1))
                assert result.ok and result.events == last - first + 1 + registry.events
        body = json.loads(app.log.read_stream(stream, from_seq=4, limit=1)[0].raw)
        body["submission_id"] += "-forged"
        app.log.tamper_for_test(stream, 4, json.dumps(body, ensure_ascii=False))
        assert verify_range(app.log, stream, 2, 3).ok
        bad = verify_range(app.log, stream, 2, 4)
        assert not bad.ok and [p["seq"] for p in bad.problems] == [4, 4]  # its hash, then its signature
        assert [p["code"] for p in bad.problems] == ["hash_mismatch", "signature_invalid"]
        assert verify_range(app.log, stream, 5, n).ok  # linked to event 4's stored hash, which was left as it was
    finally:
        app.close()

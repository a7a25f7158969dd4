"""``replay`` without a time filter folds each decoded page as it is read
(``fold_replayed``: the step looked up once) instead of event by event through
``iter_replay``: the same events and the same state, also for a history whose events refer to
a decision left out (the fold's tolerance of a missing reference)."""

from __future__ import annotations

from pathlib import Path

from tests.unit.test_audit_one_pass import fixture_app
from tongxiu.projections.fold import fold_enterprise, fold_replayed
from tongxiu.projections.views import EnterpriseState
from tongxiu.services.audit import iter_envelope_pages, iter_envelopes, iter_replay, replay


def test_replay_folds_pages_as_iter_replay_folds_events(tmp_path: Path) -> None:
    app = fixture_app(tmp_path)
    try:
        streams = [s for s in app.log.streams() if s != "registry"]
        assert len(streams) >= 6
        for stream in streams:
            state = EnterpriseState.empty(stream)
            events = list(iter_replay(app.log, app.rules, stream, state))
            got = replay(app.log, app.rules, stream)
            assert got.events == events and got.state.model_dump_json() == state.model_dump_json()
            assert got.state.model_fields_set == state.model_fields_set
            for batch in (1, 7, len(events), len(events) + 1):
                pages = list(iter_envelope_pages(app.log, stream, batch=batch))
                assert all(pages) and [e for p in pages for e in p] == events
                assert list(iter_envelopes(app.log, stream, batch=batch)) == events
            # without the decision (its first event): the later events' references are missing
            by_event, at_once = EnterpriseState.empty(stream), EnterpriseState.empty(stream)
            for env in events[1:]:
                fold_enterprise(by_event, env, app.rules, tally=False)
            fold_replayed(at_once, events[1:], app.rules)
            assert at_once.model_dump_json() == by_event.model_dump_json()
    finally:
        app.close()

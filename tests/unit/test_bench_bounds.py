"""``bench.table``'s bounds of rows c and d: the floors read every stored event, and the fold
alone leaves the states ``replay`` leaves (so the floor lines measure the same work)."""

from __future__ import annotations

from pathlib import Path

from bench import table
from bench import write_replay as wr
from tongxiu.services.audit import replay


def test_the_floors_read_every_event_and_the_fold_alone_gives_replays_states(tmp_path: Path) -> None:
    work = wr.build_workload(120)
    app = table.open_app(tmp_path, "bounds")
    assert wr.submit_all(app, work.submissions) == work.events
    assert table.read_parse_floor(app, work.codes) == work.events
    decoded = table.read_decode_floor(app, work.codes)
    assert [len(envs) for envs in decoded] == [len(replay(app.log, app.rules, c).events) for c in work.codes]
    assert table.fold_only(app, decoded) == work.events
    # the fold alone, enterprise by enterprise, ends where replay does
    from tongxiu.projections.fold import fold_enterprise
    from tongxiu.projections.views import EnterpriseState

    for code, envs in zip(work.codes, decoded, strict=True):
        state = EnterpriseState.empty(code)
        for env in envs:
            fold_enterprise(state, env, app.rules, tally=False)
        assert state.model_dump() == replay(app.log, app.rules, code).state.model_dump()
    app.close()


def test_the_bounds_lines_name_what_2x_leaves() -> None:
    t = table.Timing
    n = 1000
    lines = table.bounds_of_c_and_d(
        t_bare=t(0.2, 0.15), t_full=t(0.7, 0.6), es_app=t(0.5, 0.45), t_rep=t(0.02, 0.02), es_rep=t(0.03, 0.03),
        n_ev=n, floors={"parse": t(0.004, 0.004), "decode": t(0.012, 0.012), "fold": t(0.008, 0.008)},
    )
    c, d = lines
    # 450 µs/event for eventsourcing: 2x is 225; the bare write's 150 leaves 75; Tongxiu spends 450 besides it
    assert "2x that is 225 µs/event" in c and "takes 150" in c and "leaves 75 µs/event" in c and "spends 450" in c
    assert "3.00x eventsourcing" in c
    # 30 µs/event: 2x is 15.0; parse 4.0 (7.50x), decode 12.0 (2.50x), fold 8.0, replay 20.0
    assert "2x that is 15.0" in d and "takes 4.0 (at most 7.50x" in d and "12.0 (at most 2.50x)" in d
    assert "the fold alone 8.0" in d and "Tongxiu's replay 20.0" in d

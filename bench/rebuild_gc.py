"""Row e of the table in the table's own setting, with the garbage collector's share.

    python -m bench.rebuild_gc [--events N] [--rounds R]

Writes N events with ``app.submit`` in this process (as row a does, leaving its heap behind),
then times ``decode_and_fold`` (row e's baseline) and ``app.rebuild`` R times each with
``bench.table.measure``, printing CPU per event and the time the collector spent in full
(generation 2) collections during each (``gc.callbacks``; the ``gc.collect()`` that ``measure``
runs before timing is included, ~8-10 us/event). Nothing is asserted."""

from __future__ import annotations

import argparse
import gc
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import write_replay as wr
from bench.table import decode_and_fold, loadavg, measure, open_app


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args(argv)
    spent = [0.0]
    started = [0.0]

    def timed(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[0] = time.process_time()
        elif info["generation"] == 2:
            spent[0] += time.process_time() - started[0]

    gc.callbacks.append(timed)
    print(f"rebuild_gc — {time.strftime('%Y-%m-%d %H:%M:%S %Z')}, load {loadavg()}")
    work = wr.build_workload(args.events)
    with tempfile.TemporaryDirectory(prefix="tongxiu-rebuild-gc-") as d:
        app = open_app(Path(d), "full")
        wr.submit_all(app, work.submissions)
        path = Path(app.log.db.path)  # type: ignore[attr-defined]
        for _ in range(args.rounds):
            for label, fn in (("decode+fold", lambda: decode_and_fold(path, app)), ("rebuild", app.rebuild)):
                gc.collect()
                before = spent[0]
                t, n = measure(fn)
                print(f"{label:<12} {t.cpu / n * 1e6:6.1f} us/event CPU, full collections {(spent[0] - before) / n * 1e6:5.1f}"
                      " us/event", flush=True)
        app.close()
    print(f"finished, load {loadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

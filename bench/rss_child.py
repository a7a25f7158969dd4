"""Run one ``tongxiu`` command and write its own peak RSS (``VmHWM`` of /proc/self/status, in
KiB) to a file: ``python -m bench.rss_child OUT ARGS…``. (A child's ``ru_maxrss`` would
include the forking parent's resident set; VmHWM belongs to the process after exec.)"""

from __future__ import annotations

import atexit
import sys
from pathlib import Path


def _peak_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return -1


def main() -> None:
    out = Path(sys.argv[1])
    atexit.register(lambda: out.write_text(str(_peak_kib())))
    sys.argv = ["tongxiu", *sys.argv[2:]]
    from tongxiu.entrypoints.cli import main as cli

    cli()


if __name__ == "__main__":
    main()

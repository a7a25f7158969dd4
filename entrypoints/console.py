"""The ``tongxiu`` console script. The command line needs the ``cli`` extra (typer, rich);
``pip install tongxiu`` alone gives the SDK, so without the extra the script says what to
install (exit 2) instead of failing with a traceback."""

from __future__ import annotations

import importlib.util
import sys

NEEDS = ("typer", "rich")
HINT = (
    "tongxiu: the command line needs the `cli` extra ({missing} not installed).\n"
    "  pip install 'tongxiu[cli]'      # the command line\n"
    "  pip install 'tongxiu[server]'   # with `tongxiu serve` (FastAPI, uvicorn)\n"
    "  pip install 'tongxiu[all]'      # with the distributed backend (Kafka, Cassandra)\n"
    "`pip install tongxiu` alone gives the SDK: tongxiu.services.sdk and tongxiu.services.http_client.\n"
)


def missing() -> list[str]:
    return [name for name in NEEDS if importlib.util.find_spec(name) is None]


def main() -> None:
    absent = missing()
    if absent:
        sys.stderr.write(HINT.format(missing=", ".join(absent)))
        raise SystemExit(2)
    from tongxiu.entrypoints.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()

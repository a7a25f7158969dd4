"""A writer process for the multi-process tests: ``python -m tests.procs DATA_DIR NAME N``
serves N decisions (decision + advice + notice, 三书同达) on its own enterprises and on a
shared one, through its own embedded backend on DATA_DIR, and prints how many were accepted."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from tests.support import CODE, advice, decision
from tongxiu.infra.bootstrap import open_embedded
from tongxiu.infra.embedded import LocalTransport
from tongxiu.services.config import Settings
from tongxiu.services.demo import demo_key, make_uscc
from tongxiu.services.sdk import Producer


def main(data_dir: str, name: str, n: int) -> int:
    app = open_embedded(Settings(data_dir=Path(data_dir)))
    accepted = 0
    try:
        samr = Producer(LocalTransport(app), "samr-deqing", demo_key("samr-deqing"), rules=app.rules)
        for i in range(n):
            own = make_uscc("91", "330521", f"{name[:4].upper():0>4}{i:04d}"[-8:])
            code = CODE if i % 2 else own
            no = f"{name}-D{i}"
            receipt = samr.serve(code, decision(no, violation_kind=f"{name}-{i}"), advice(f"A-{no}", no),
                                 submission_id=f"{name}-{i}", occurred_at=datetime.now(UTC))
            accepted += receipt.accepted
            if not receipt.accepted:
                print("rejected", receipt.reasons, file=sys.stderr)
    finally:
        app.close()
    print(accepted)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))

"""A real HTTP ledger for clients that are not this test process: an embedded ledger with the
demo departments registered (their public demo keys), served by uvicorn on a free loopback
port in a thread. Used by the packaging test (the SDK installed from the wheel into a fresh
venv) and the Node.js client test."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import uvicorn

from tongxiu.infra.bootstrap import open_embedded
from tongxiu.services.app import Tongxiu
from tongxiu.services.config import Settings
from tongxiu.services.demo import START, register_only
from tongxiu.services.http import create_app
from tongxiu.services.ports import ManualClock

AUDITOR = "auditor-token-live-00000000"
SAMR = "dept-token-live-samr-deqing-0"
TOKENS = {
    AUDITOR: {"role": "auditor"},
    SAMR: {"role": "department", "department": "samr-deqing"},
}
NOW = START + timedelta(hours=2)
"""The ledger's clock: two hours after the demo's decision (clients date their facts before)."""


@dataclass
class LiveLedger:
    url: str
    app: Tongxiu
    clock: ManualClock


@contextlib.contextmanager
def live_ledger(folder: Path) -> Iterator[LiveLedger]:
    clock = ManualClock(NOW)
    app = open_embedded(Settings(data_dir=folder / "ledger"), clock=clock)
    register_only(app)
    # proto IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY on accepted sockets only when the listening
    # socket says TCP, and without it every response waits ~40 ms for the client's delayed ACK
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(app, TOKENS), log_config=None, access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            thread.join(0.05)
            assert thread.is_alive(), "the ledger's HTTP server did not start"
        yield LiveLedger(f"http://127.0.0.1:{port}", app, clock)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
        app.close()

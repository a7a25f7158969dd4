"""The Transport contract on the embedded backend: the app's own ``InProcessTransport``,
``LocalTransport`` (a client of a built app) and ``HttpTransport`` (through the HTTP gateway)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.contract.transport import TransportContract
from tests.support import T0
from tongxiu.infra.bootstrap import open_embedded
from tongxiu.infra.embedded import InProcessTransport, LocalTransport
from tongxiu.services.app import Tongxiu
from tongxiu.services.config import Settings
from tongxiu.services.demo import DEPARTMENTS, register_departments
from tongxiu.services.http import create_app
from tongxiu.services.http_client import HttpTransport
from tongxiu.services.ports import ManualClock
from tongxiu.services.sdk import Transport


class EmbeddedApp:
    @pytest.fixture(autouse=True)
    def _app(self, tmp_path: Path) -> Iterator[None]:
        clock = ManualClock(T0)
        self.app = open_embedded(Settings(data_dir=tmp_path / "data"), clock=clock)
        register_departments(self.app, LocalTransport(self.app), clock)
        yield
        self.app.close()


class TestInProcessTransport(EmbeddedApp, TransportContract):
    def make_transport(self) -> tuple[Transport, Tongxiu]:
        assert isinstance(self.app.transport, InProcessTransport)
        return self.app.transport, self.app


class TestLocalTransport(EmbeddedApp, TransportContract):
    def make_transport(self) -> tuple[Transport, Tongxiu]:
        return LocalTransport(self.app), self.app


class TestHttpTransport(EmbeddedApp, TransportContract):
    def make_transport(self) -> tuple[Transport, Tongxiu]:
        tokens = {f"dept-token-{d[0]}-0000": {"role": "department", "department": d[0]} for d in DEPARTMENTS}
        client = TestClient(create_app(self.app, tokens))
        return HttpTransport(client=client, token={d[0]: f"dept-token-{d[0]}-0000" for d in DEPARTMENTS}), self.app

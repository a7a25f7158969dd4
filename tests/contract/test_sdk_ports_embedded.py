"""The SDK port contracts on the embedded backend: ``LocalFeed`` over the SQLite event log and
offset store, ``LocalInbox`` over the SQLite projections (a fresh data directory per test)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.contract.ports_sdk import FeedPortContract, InboxPortContract, InboxWorld, Publish
from tests.support import T0
from tongxiu.events.envelope import Envelope
from tongxiu.infra.bootstrap import open_embedded
from tongxiu.infra.embedded import LocalFeed, LocalInbox, LocalTransport
from tongxiu.services.app import Tongxiu
from tongxiu.services.config import Settings
from tongxiu.services.demo import register_departments
from tongxiu.services.ports import ManualClock
from tongxiu.services.sdk import FeedPort


class EmbeddedFactory:
    @pytest.fixture(autouse=True)
    def _data_dir(self, tmp_path: Path) -> Iterator[None]:
        self.settings = Settings(backend="embedded", data_dir=tmp_path / "data")
        self.apps: list[Tongxiu] = []
        yield
        for app in self.apps:
            app.close()

    def app(self, clock: ManualClock | None = None) -> Tongxiu:
        app = open_embedded(self.settings, clock=clock)
        self.apps.append(app)
        return app


def append_to_log(app: Tongxiu) -> Publish:
    """Append the envelopes to the SQLite event log, one append per run of one stream."""

    def publish(envs: list[Envelope]) -> None:
        run: list[Envelope] = []
        for env in [*envs, None]:
            if run and (env is None or env.stream != run[0].stream):
                app.log.append(run[0].stream, run[0].seq - 1, run)
                run = []
            if env is not None:
                run.append(env)

    return publish


class TestLocalFeed(EmbeddedFactory, FeedPortContract):
    def make_feed(self) -> tuple[FeedPort, Publish]:
        app = self.app()  # a new app on the same database: a restarted consumer process
        return LocalFeed(app.log, app.offsets), append_to_log(app)


class TestLocalInbox(EmbeddedFactory, InboxPortContract):
    def make_inbox_world(self) -> InboxWorld:
        clock = ManualClock(T0)
        app = self.app(clock)
        producers = register_departments(app, LocalTransport(app), clock)
        return InboxWorld(inbox=LocalInbox(app), producers=producers, clock=clock, app=app)

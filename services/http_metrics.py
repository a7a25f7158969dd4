"""``/metrics`` in the Prometheus text format, through ``prometheus_client``, one registry per
service (so two services in one process never share or clash):

* ``tongxiu_submissions_total{result="accepted"|"rejected", reason}`` — submissions through the
  gateway, a rejected one once per reason code;
* ``tongxiu_submissions_unavailable_total{cause}`` — answered 503 (concurrency, not delivered);
* ``tongxiu_append_seconds`` — histogram of the time from a readable submission to its receipt;
* ``tongxiu_log_events`` / ``tongxiu_projection_position`` / ``tongxiu_projection_lag_events`` —
  events in the log, events the read models have applied, the difference;
* ``tongxiu_inbox_pending{subscriber}`` — deliveries of repair results not yet acknowledged,
  per subscribing department or credit platform (the feed lag each platform has to catch up);
* ``tongxiu_feed_uncommitted{consumer}`` — items the HTTP feed handed a consumer, not yet committed;
* ``tongxiu_sync_overdue{department}`` — repair syncs overdue, per deciding department;
* ``tongxiu_rejections_recorded`` — rejected submissions in the rejection log (every path).

The gauges are read from the backend when scraped (the log's stream heads, the read models)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from tongxiu.events.envelope import Receipt
from tongxiu.events.models import REGISTRY_STREAM
from tongxiu.services.app import Tongxiu

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _Backend(Collector):
    def __init__(self, app: Tongxiu, uncommitted: Callable[[], dict[str, int]]) -> None:
        self.app = app
        self.uncommitted = uncommitted

    def collect(self) -> Iterator[Any]:
        app = self.app
        events = sum(app.log.last_seq(s) for s in app.log.streams())
        position = app.read_models.position()
        yield GaugeMetricFamily("tongxiu_log_events", "events in the log", value=events)
        yield GaugeMetricFamily("tongxiu_projection_position", "events the read models have applied", value=position)
        yield GaugeMetricFamily("tongxiu_projection_lag_events", "events in the log the read models have not applied",
                                value=max(events - position, 0))
        registry = app.registry()
        pending = GaugeMetricFamily("tongxiu_inbox_pending", "repair results delivered, not yet acknowledged",
                                    labels=["subscriber", "kind"])
        overdue = GaugeMetricFamily("tongxiu_sync_overdue", "repair syncs overdue, by deciding department",
                                    labels=["department"])
        for dept in app.departments():
            info = registry.departments[dept]
            pending.add_metric([dept, info.kind], len(app.inbox(dept)))
            overdue.add_metric([dept], app.supervision(dept).syncs_overdue)
        yield pending
        yield overdue
        feed = GaugeMetricFamily("tongxiu_feed_uncommitted", "feed items handed over HTTP, not yet committed",
                                 labels=["consumer"])
        for consumer, n in sorted(self.uncommitted().items()):
            feed.add_metric([consumer], n)
        yield feed
        yield GaugeMetricFamily("tongxiu_rejections_recorded", "rejected submissions recorded",
                                value=app.rejections.count())
        yield GaugeMetricFamily("tongxiu_streams", "enterprise and department streams",
                                value=len([s for s in app.log.streams() if s != REGISTRY_STREAM]))


class Metrics:
    def __init__(self, app: Tongxiu, uncommitted: Callable[[], dict[str, int]]) -> None:
        self.registry = CollectorRegistry()
        self._submissions = Counter("tongxiu_submissions", "submissions through the HTTP gateway",
                                    ["result", "reason"], registry=self.registry)
        self._unavailable = Counter("tongxiu_submissions_unavailable", "submissions answered 503",
                                    ["cause"], registry=self.registry)
        self._append = Histogram("tongxiu_append_seconds", "time from a readable submission to its receipt",
                                 registry=self.registry,
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
        self.registry.register(_Backend(app, uncommitted))

    def submitted(self, receipt: Receipt, seconds: float) -> None:
        self._append.observe(seconds)
        if receipt.accepted:
            self._submissions.labels("accepted", "").inc()
        for code in dict.fromkeys(receipt.codes):
            self._submissions.labels("rejected", code).inc()

    def unavailable(self, cause: str) -> None:
        self._unavailable.labels(cause).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)

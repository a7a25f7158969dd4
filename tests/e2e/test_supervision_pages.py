"""The dashboard's 执法监督 panels in a real headless Chromium: the figures shown are the API's,
the charts are drawn, the enterprise advice items are labelled as such."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
import uvicorn

from tests.e2e.test_pages import AUDITOR, SHOTS, browser, free_port, page, sign_in  # noqa: F401  (fixtures)
from tests.e2e.test_pages import pytestmark as _pages_mark
from tongxiu.events.models import (
    REGISTRY_STREAM,
    CaseFileReviewed,
    ComplaintReceived,
    DepartmentRegistered,
    FindingRectificationSubmitted,
    FindingVerified,
    InspectionStarted,
    NoPenaltyDecided,
    SupervisionFindingRaised,
    SupervisorDesignated,
    department_stream,
)
from tongxiu.infra.embedded import LocalTransport
from tongxiu.projections.fold import china_day
from tongxiu.services.app import Tongxiu
from tongxiu.services.demo import ENTERPRISE, demo_key
from tongxiu.services.http import create_app
from tongxiu.services.sdk import Producer

pytestmark = _pages_mark


def _supervised(app: Tongxiu) -> None:
    """The demo, plus a supervisor's case reviews and findings, inspections and 免罚 decisions."""
    for ev, sid in [
        (DepartmentRegistered(department_id="sfj-deqing", name="德清县司法局", kind="department", domain="justice",
                              jurisdiction="330521", public_key=demo_key("sfj-deqing").public_key), "reg-sfj"),
        (SupervisorDesignated(department_id="sfj-deqing", jurisdiction="330521", basis="指定"), "designate-sfj"),
    ]:
        assert app.emit(REGISTRY_STREAM, [ev], submission_id=sid).accepted
    sup = Producer(LocalTransport(app), "sfj-deqing", demo_key("sfj-deqing"))
    samr = Producer(LocalTransport(app), "samr-deqing", demo_key("samr-deqing"))
    now = app.now()
    deadline = china_day(now) + timedelta(days=30)
    stream = department_stream("samr-deqing")
    events: list[Any] = []
    for n in range(6):
        events += [CaseFileReviewed(review_id=f"R{n}", case_ref=f"案卷{n}", campaign="评查"),
                   SupervisionFindingRaised(finding_id=f"F{n}", source="case_review", category="文书瑕疵",
                                            description="问题", deadline=deadline, review_id=f"R{n}")]
    events.append(ComplaintReceived(complaint_id="C1", channel="12345", category="多头检查", summary="投诉"))
    assert sup.publish(stream, events, occurred_at=now).accepted
    assert samr.publish(stream, [FindingRectificationSubmitted(finding_id=f"F{n}", evidence="已改") for n in range(5)],
                        occurred_at=now).accepted
    assert sup.publish(stream, [FindingVerified(finding_id=f"F{n}") for n in range(5)], occurred_at=now).accepted
    inspections = [InspectionStarted(inspection_id=f"I{n}", departments=["samr-deqing"], officers=["33052100123"],
                                     code_shown=n < 3, joint=False) for n in range(4)]
    assert samr.publish(ENTERPRISE, inspections, occurred_at=now).accepted
    assert samr.publish(ENTERPRISE, [NoPenaltyDecided(
        decision_no="德市监不罚〔2026〕1号", party_name="某公司", basis="minor_and_corrected", violation_kind="标签瑕疵",
        legal_basis="第三十三条", decision_date=date(2026, 1, 5), waived_fine_yuan=Decimal("3000"))],
        occurred_at=now).accepted
    app.process()


@pytest.fixture
def supervised_url(demo_app: Tongxiu) -> Iterator[str]:
    _supervised(demo_app)
    api = create_app(demo_app, {AUDITOR: {"role": "auditor"}})
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(api, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_dashboard_supervision_panels_show_the_api_figures(supervised_url: str, page: Any) -> None:  # noqa: F811
    sign_in(page, supervised_url, "/dashboard")
    fig = httpx.get(f"{supervised_url}/api/supervision/figures", headers={"Authorization": f"Bearer {AUDITOR}"}).json()
    assert (fig["case_review"]["files_reviewed"], fig["case_review"]["findings"], fig["case_review"]["rectified"]) == (6, 6, 5)
    row = page.locator("#oversight-figures")
    shown = {name: row.locator(f'td[data-field="{name}"]').inner_text().strip()
             for name in ("files_reviewed", "findings", "rectified", "rectification_rate", "inspections", "code_shown",
                          "code_shown_rate", "minor", "waived_fine_yuan", "complaints_received")}
    assert shown == {"files_reviewed": "6", "findings": "6", "rectified": "5", "rectification_rate": "83.33%",
                     "inspections": "4", "code_shown": "3", "code_shown_rate": "75.00%", "minor": "1",
                     "waived_fine_yuan": "3000.00", "complaints_received": "1"}
    charts = page.locator(".oversight-charts figure")
    assert charts.count() == 7
    case = page.locator('figure[data-chart="case-review"]')
    assert "案卷评查" in case.locator("figcaption").inner_text()
    assert "整改率 83.33%" in case.inner_text()
    assert case.locator("svg rect").count() == 4
    assert "亮码率 75.00%" in page.locator('figure[data-chart="inspections"]').inner_text()
    # the bars are drawn to scale: 已整改 (5) is 5/6 of 发现问题 (6)
    widths = [float(w) for w in case.locator("svg rect").evaluate_all("rs => rs.map(r => r.getAttribute('width'))")]
    assert widths[2] == pytest.approx(widths[1] * 5 / 6, rel=0.01)
    # the enterprise advice items keep their own, relabelled, column
    assert "企业整改建议事项" in page.locator("#figures tr").first.inner_text()
    page.screenshot(path=str(SHOTS / "dashboard-supervision.png"), full_page=True)

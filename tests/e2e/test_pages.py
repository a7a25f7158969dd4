"""The pages in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright;
``infra/setup_browser.sh`` installs it), against the service on a real socket: uvicorn in a
background thread on 127.0.0.1. Each page's screenshot is saved under docs/screenshots/."""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from tongxiu.services.app import Tongxiu
from tongxiu.services.demo import ENTERPRISE
from tongxiu.services.http import create_app

CHROMIUM = Path("/usr/bin/chromium")
# Screenshots go to a temporary folder, so `make test` leaves the tracked ones alone; `make
# screenshots` (TONGXIU_UPDATE_SCREENSHOTS=1) regenerates docs/screenshots deliberately.
SHOTS = (
    Path(__file__).resolve().parents[2] / "docs" / "screenshots"
    if os.environ.get("TONGXIU_UPDATE_SCREENSHOTS")
    else Path(tempfile.mkdtemp(prefix="tongxiu-screenshots-"))
)
AUDITOR = "auditor-token-0000000000"
SAMR = "dept-token-samr-deqing-0000"
DECISION = "德市监处罚〔2026〕7号"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

# `make test` installs chromium first (infra/setup_browser.sh) and CI sets CI=true: there a
# missing browser is a failure, never a skip. Elsewhere (a developer's `make test-unit`
# without chromium) the page tests are skipped with the way to get them.
IN_CI = bool(os.environ.get("CI"))
if IN_CI:
    from playwright import sync_api as playwright_sync
else:
    playwright_sync = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(
    not IN_CI and not CHROMIUM.exists(), reason="run infra/setup_browser.sh to install chromium"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def base_url(demo_app: Tongxiu) -> Iterator[str]:
    api = create_app(demo_app, {AUDITOR: {"role": "auditor"},
                                SAMR: {"role": "department", "department": "samr-deqing"}})
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


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_sync.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    tab = context.new_page()
    tab.set_default_timeout(8000)
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    context.close()
    assert not errors, errors


def api(base_url: str, path: str, **params: Any) -> Any:
    r = httpx.get(base_url + path, params=params, headers={"Authorization": f"Bearer {AUDITOR}"})
    r.raise_for_status()
    return r.json()


def status_of(page: Any) -> str:
    """The record's status as data (``repaired``) and as shown (已修复)."""
    cell = page.locator(f'#credit tr[data-decision="{DECISION}"] td.status')
    return f"{cell.get_attribute('data-status')} {str(cell.inner_text()).strip()}"


def sign_in(page: Any, base_url: str, then: str = "/", token: str = AUDITOR) -> Any:
    """The sign-in form: the token goes in the body, never in a URL."""
    page.goto(f"{base_url}/login?next={then}")
    page.fill("#token", token)
    with page.expect_navigation():
        response = page.click("#login button")
    assert token not in page.url
    return response


def test_timeline_date_picker_shows_the_state_as_it_stood(base_url: str, page: Any) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    sign_in(page, base_url, f"/enterprises/{ENTERPRISE}")
    assert page.url == f"{base_url}/enterprises/{ENTERPRISE}"
    assert status_of(page) == "repaired 已修复"
    assert page.locator("#verification").get_attribute("data-ok") == "true"
    assert "校验通过" in page.locator("#verification").inner_text()
    events = api(base_url, f"/api/enterprises/{ENTERPRISE}/history")["page"]["total"]
    assert page.locator("#timeline-chart circle").count() == events
    assert page.locator("#timeline-chart circle[fill='#fff']").count() == 0  # nothing after "now"
    assert page.locator("#rectification td.status").all_inner_texts() == ["已销号", "已销号"]
    # event types by their Chinese names, never the code identifiers; times in China time
    names = page.locator("#history td.event").all_inner_texts()
    assert "行政处罚决定书" in names and "信用修复告知书" in names and "行政合规建议书" in names
    assert not any("_" in n for n in names)
    first = api(base_url, f"/api/enterprises/{ENTERPRISE}/history", limit=1)["events"][0]
    from tongxiu.services.presenters import when

    assert page.locator("#history tr").nth(1).locator("td").nth(1).inner_text() == when(first["occurred_at"], seconds=False)
    assert "北京时间" in page.locator("footer").inner_text()
    page.screenshot(path=str(SHOTS / "timeline.png"), full_page=True)

    with page.expect_navigation():
        page.fill("#as_of", "2026-01-20")  # the script reloads the page when the date changes
    assert "as_of=2026-01-20" in page.url
    assert "2026-01-20" in page.locator("#showing").inner_text()
    assert status_of(page) == "publicized 公示中"
    assert page.locator("#rectification td.status").all_inner_texts() == ["已提交整改材料"] * 2
    past = api(base_url, f"/api/enterprises/{ENTERPRISE}/history", as_of="2026-01-20")
    assert page.locator("#history tr.later").count() == events - past["page"]["total"]
    assert page.locator("#timeline-chart line.cursor").count() == 1
    page.screenshot(path=str(SHOTS / "timeline-as-of.png"), full_page=True)

    with page.expect_navigation():
        page.fill("#as_of", "2026-03-20")
    assert [t.split()[0] for t in page.locator("#rectification td.status").all_inner_texts()] == ["已销号"] * 2


def test_language_switch_to_english_and_back(base_url: str, page: Any) -> None:
    sign_in(page, base_url, f"/enterprises/{ENTERPRISE}")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    with page.expect_navigation():
        page.click("#lang-switch a")  # → English
    assert "lang=en" in page.url and page.locator("html").get_attribute("lang") == "en"
    assert status_of(page) == "repaired repaired"
    assert "Verified" in page.locator("#verification").inner_text()
    assert "Penalty decision" in page.locator("#history td.event").all_inner_texts()
    page.goto(f"{base_url}/dashboard")  # the choice is remembered (cookie)
    assert "Supervision dashboard" in page.locator("h1").inner_text()
    page.screenshot(path=str(SHOTS / "timeline-en.png"), full_page=False)
    with page.expect_navigation():
        page.click("#lang-switch a")  # → 中文
    assert "执法监督看板" in page.locator("h1").inner_text()


def test_print_view_and_csv_export(base_url: str, page: Any) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    sign_in(page, base_url, f"/enterprises/{ENTERPRISE}")
    with page.expect_navigation():
        page.click("#print")
    assert page.url.endswith(f"/enterprises/{ENTERPRISE}/print")
    total = api(base_url, f"/api/enterprises/{ENTERPRISE}/history")["page"]["total"]
    assert page.locator("#history tbody tr").count() == total
    assert "行政处罚决定书" in page.locator("#history").inner_text()
    assert page.locator("#credit tbody tr").count() == 1 and "已修复" in page.locator("#credit").inner_text()
    assert "统一社会信用代码" in page.locator("#summary").inner_text()
    page.emulate_media(media="print")
    assert not page.locator(".no-print").is_visible()
    page.screenshot(path=str(SHOTS / "print.png"), full_page=True)
    page.emulate_media(media="screen")
    page.goto(f"{base_url}/enterprises/{ENTERPRISE}")
    with page.expect_download() as download:
        page.click("#csv")
    data = Path(download.value.path()).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel reads the Chinese
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0].split(",")[:5] == ["序号", "发生时间", "记录时间", "部门", "事项"]
    assert len(lines) == total + 1 and any("行政处罚决定书" in line for line in lines)


def test_dashboard_shows_the_api_figures(base_url: str, page: Any) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    sign_in(page, base_url, "/dashboard")
    figures = {f["department"]: f for f in api(base_url, "/api/supervision")}
    rows = page.locator("#figures tr[data-department]")
    assert rows.count() == len(figures) == 5
    for dept, f in figures.items():
        row = page.locator(f'#figures tr[data-department="{dept}"]')
        for name in ("penalties", "penalties_without_notice", "rectification_found", "rectification_closed",
                     "rectification_overdue", "repairs_decided", "syncs_acknowledged", "syncs_overdue"):
            assert row.locator(f'td[data-field="{name}"]').inner_text().strip() == str(f[name]), (dept, name)
        shown = row.locator('td[data-field="served_with_notice_and_advice"]').inner_text()
        assert shown.startswith(str(f["served_with_notice_and_advice"]))
        lag = row.locator('td[data-field="mean_sync_ack_hours"]').inner_text().strip()
        assert lag == ("—" if f["mean_sync_ack_hours"] is None else str(f["mean_sync_ack_hours"]))
    assert page.locator(".charts svg").count() == 6
    assert page.locator(".charts svg rect").count() == 6 * 5
    assert "三书同达率" in page.locator(".charts figcaption").first.inner_text()
    page.screenshot(path=str(SHOTS / "dashboard.png"), full_page=True)
    # the enterprise advice items are labelled as such, not as 案卷评查 findings
    assert "企业整改建议事项" in page.locator("#figures tr").first.inner_text()

    page.fill("#period", "2025")  # a period before anything happened: all zero
    with page.expect_navigation():
        page.click("form.when button")
    assert page.locator('#figures tr[data-department="samr-deqing"] td[data-field="penalties"]').inner_text() == "0"


def test_propagation_page_marks_the_overdue_subscriber(base_url: str, page: Any) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    sign_in(page, base_url, f"/enterprises/{ENTERPRISE}")
    with page.expect_navigation():
        page.click('a[href*="/repairs?decision_no="]')
    assert "/repairs?decision_no=" in page.url
    rows = page.locator("#deliveries tr[data-subscriber]")
    assert sorted(rows.evaluate_all("rs => rs.map(r => r.dataset.subscriber)")) == [
        "creditchina", "eco-huzhou", "ema-deqing", "tax-deqing"]
    assert "逾期" in page.locator('tr[data-subscriber="ema-deqing"] td.state').inner_text()
    assert "逾期" not in page.locator('tr[data-subscriber="tax-deqing"] td.state').inner_text()
    assert page.locator("tr.overdue-row").count() == 1
    assert "准予信用修复决定" in page.locator('tr[data-subscriber="tax-deqing"]').inner_text()
    page.screenshot(path=str(SHOTS / "propagation.png"), full_page=True)


def test_access_log_page_shows_who_read_what(base_url: str, page: Any) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    sign_in(page, base_url, f"/enterprises/{ENTERPRISE}")
    page.goto(f"{base_url}/access-log")
    rows = page.locator("#access tr.read")
    assert rows.count() == 1
    assert ENTERPRISE in rows.first.inner_text() and "审计员" in rows.first.inner_text()
    assert "timeline page" in rows.first.inner_text() and AUDITOR not in page.content()
    page.screenshot(path=str(SHOTS / "access-log.png"), full_page=True)


def test_pages_refuse_missing_and_wrong_tokens(base_url: str, page: Any) -> None:
    response = page.goto(f"{base_url}/dashboard")
    assert response.status == 401
    assert "尚未登录" in page.inner_text("body")
    with page.expect_navigation():
        page.click("#sign-in")  # the way in, back to where the auditor was going
    response = sign_in(page, base_url, "/dashboard", token=SAMR)
    assert "/login" in page.url and "页面需要审计员令牌" in page.inner_text("#login-error")
    response = page.goto(f"{base_url}/dashboard?token={AUDITOR}")  # never by URL
    assert response.status == 400 and "/login" in page.inner_text("body")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(f"{base_url}/login")
    page.screenshot(path=str(SHOTS / "login.png"))

"""The report page shows the history the statistics API computes: with the demo's
generated day of yesterday, the table's totals and rows are the API's for the same
filter, the charts are drawn on their canvases, the queue filter changes the numbers,
and the CSV link downloads the same rows."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from playwright.sync_api import Browser, Page, expect

from tests.interop.harness import Node
from tests.web.conftest import open_page, sign_in


def _ready(page: Page, query: dict[str, str]) -> None:
    """Wait until the page has shown the report for ``query`` (empty filters left out)."""
    asked = urlencode({k: v for k, v in query.items() if v})
    expect(page.locator("html")).to_have_attribute("data-ready", "?" + asked)


def _busy(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in report["rows"] if r["offered"] or r["answered"] or r["abandoned"]]


def _figures(page: Page) -> list[str]:
    return [c.strip() for c in page.locator("#table tfoot td").all_inner_texts()]


def _painted(page: Page, canvas: str) -> int:
    """How many pixels of ``canvas`` are not transparent."""
    return int(
        page.evaluate(
            """(id) => { const c = document.getElementById(id);
                 const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
                 let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n += 1; return n; }""",
            canvas,
        )
    )


def test_report_table_and_charts_match_the_statistics_api_and_follow_the_queue_filter(
    browser: Browser, server: Node, api_as: Any
) -> None:
    supervisor = api_as("supervisor")
    today = date.fromisoformat(supervisor("GET", "/stats/history")["start"])
    day = (today - timedelta(days=1)).isoformat()
    everything = {"start": day, "end": day, "granularity": "hour"}
    api_all = supervisor("GET", "/stats/history?" + urlencode(everything))
    total = api_all["totals"][0]
    assert total["offered"] > 20, "the demo should have generated yesterday's calls"

    page = open_page(browser, server)
    sign_in(page, "supervisor")
    expect(page.get_by_role("link", name="Reports")).to_be_visible()
    page.goto("/reports?" + urlencode(everything))
    query = {**everything, "queue": "", "agent": ""}
    _ready(page, query)

    offered, answered, abandoned = (str(total[k]) for k in ("offered", "answered", "abandoned"))
    assert _figures(page)[:3] == [offered, answered, abandoned]
    busy = _busy(api_all)
    expect(page.locator("#table tbody tr")).to_have_count(len(busy))
    first = page.locator("#table tbody tr").first.locator("td")
    assert first.nth(1).inner_text() == str(busy[0]["offered"])
    charted = page.evaluate(
        "window.helplineReports.charts['chart-volume'].data.datasets.map((d) => d.data)"
    )
    assert charted[0] == [r["offered"] for r in api_all["rows"]]
    assert charted[2] == [r["abandoned"] for r in api_all["rows"]]
    assert _painted(page, "chart-volume") > 1000
    assert _painted(page, "chart-quality") > 1000
    staffing = supervisor("GET", "/stats/staffing?" + urlencode({"start": day, "end": day}))
    needed = [str(r["agents"]) for r in staffing["rows"] if r["calls"]]
    assert needed and page.locator("#staffing tbody td:nth-child(5)").all_inner_texts() == needed

    page.get_by_label("Queue", exact=True).select_option("sales")
    sales_query = {**query, "queue": "sales"}
    _ready(page, sales_query)
    sales = supervisor("GET", "/stats/history?" + urlencode({**everything, "queue": "sales"}))
    sales_total = sales["totals"][0]
    assert 0 < sales_total["offered"] < total["offered"]
    assert _figures(page)[:3] == [str(sales_total[k]) for k in ("offered", "answered", "abandoned")]
    expect(page.locator("#table tbody tr")).to_have_count(len(_busy(sales)))

    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    text = download.value.path().read_text("utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(sales["rows"]) + len(sales["totals"])
    assert [int(r["offered"]) for r in rows[: len(sales["rows"])]] == [
        r["offered"] for r in sales["rows"]
    ]
    href = page.locator("#xlsx").get_attribute("href") or ""
    assert "format=xlsx" in href and "queue=sales" in href
    errors: list[str] = page.errors  # type: ignore[attr-defined]
    assert errors == []


def test_agents_get_no_report_page(browser: Browser, server: Node) -> None:
    page = open_page(browser, server)
    sign_in(page, "agent2004")
    expect(page.get_by_role("link", name="Reports")).to_have_count(0)
    response = page.goto("/reports")
    assert response is not None and response.status == 403

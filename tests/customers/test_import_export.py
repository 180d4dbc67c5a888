"""CSV import with a validation report (all or nothing, skip bad rows, dry run) and the
export that imports back unchanged."""

from __future__ import annotations

import csv
import io

from tests.customers.conftest import Crm, created

GOOD_AND_BAD = (
    "name,phones,emails,tier,tags,city,address_line1,custom.account\n"
    "Alice,mobile:010-1234-5678;work:02-312-3456,alice@example.com,vip,a;b,서울,세종대로 1,A-1\n"
    ",010-2222-3333,,,,,,\n"
    "Bob,12,bob@,gold,,,,\n"
    "Carol,,,platinum,,부산,,\n"
    "Dave,+1 201 555 0123,,,,,,\n"
)


async def _import(crm: Crm, data: str | bytes, **params: str) -> dict[str, object]:
    raw = data.encode() if isinstance(data, str) else data
    r = await crm.admin.post(
        "/api/v1/customers/import", params=params, files={"file": ("c.csv", raw, "text/csv")}
    )
    assert r.status_code == 200, r.text
    report: dict[str, object] = r.json()
    return report


async def _total(crm: Crm) -> int:
    total: int = (await crm.admin.get("/api/v1/customers")).json()["total"]
    return total


async def test_a_bad_row_stops_an_all_or_nothing_import_and_the_report_names_each_problem(
    crm: Crm,
) -> None:
    report = await _import(crm, GOOD_AND_BAD)
    assert report["committed"] is False
    assert (report["rows"], report["created"], report["skipped"]) == (5, 0, 5)
    problems = {(e["row"], e["field"]) for e in report["errors"]}  # type: ignore[attr-defined]
    assert problems == {
        (3, "name"),
        (4, "emails"),
        (4, "phones"),
        (5, "tier"),
        (5, "address_line1"),
    }
    assert await _total(crm) == 0


async def test_skip_bad_rows_writes_the_good_ones_and_a_dry_run_writes_nothing(crm: Crm) -> None:
    dry = await _import(crm, GOOD_AND_BAD, mode="skip_bad_rows", dry_run="true")
    assert (dry["committed"], dry["created"], dry["skipped"]) == (False, 0, 3)
    assert await _total(crm) == 0
    report = await _import(crm, GOOD_AND_BAD, mode="skip_bad_rows")
    assert (report["committed"], report["created"], report["skipped"]) == (True, 2, 3)
    alice = (await crm.admin.get("/api/v1/customers", params={"q": "Alice"})).json()["items"][0]
    assert [p["e164"] for p in alice["phones"]] == ["+821012345678", "+8223123456"]
    assert alice["tier"] == "vip" and alice["tags"] == ["a", "b"]
    assert alice["usual_address"]["city"] == "서울"
    assert alice["custom_fields"] == {"account": "A-1"}
    popped = await crm.agent.get("/api/v1/customers/lookup", params={"number": "+12015550123"})
    assert popped.json()["customer"]["name"] == "Dave"


async def test_unknown_columns_and_broken_files_are_refused_whole(crm: Crm) -> None:
    report = await _import(crm, "name,shoe_size\nAlice,42\n", mode="skip_bad_rows")
    assert report["errors"] == [{"row": 1, "field": "shoe_size", "error": "unknown column"}]
    assert report["committed"] is False and await _total(crm) == 0
    r = await crm.admin.post(
        "/api/v1/customers/import", files={"file": ("c.csv", "name\n王伟\n".encode("gbk"))}
    )
    assert r.status_code == 422 and r.json()["error_id"] == "customer_import_encoding"


async def test_rows_with_a_known_external_id_update_that_customer(crm: Crm) -> None:
    await _import(crm, "external_id,name,tags\nC-1,Alice,x\n")
    report = await _import(crm, "external_id,name,title\nC-1,Alice Smith,CEO\nC-1,Twice,\n")
    assert report["errors"] == [{"row": 3, "field": "external_id", "error": "appears twice"}]
    report = await _import(crm, "external_id,name,title\nC-1,Alice Smith,CEO\n")
    assert (report["created"], report["updated"]) == (0, 1)
    (alice,) = (await crm.admin.get("/api/v1/customers")).json()["items"]
    assert (alice["name"], alice["title"], alice["tags"]) == ("Alice Smith", "CEO", ["x"])


async def test_an_export_imports_back_unchanged_and_defuses_formulas(crm: Crm) -> None:
    await created(
        crm.agent,
        "customers",
        {
            "name": '=HYPERLINK("x")',
            "external_id": "E-1",
            "company": "한빛, 상사",
            "tier": "gold",
            "region": "north",
            "language": "ko",
            "phones": [{"number": "010-1234-5678"}, {"number": "02-312-3456", "label": "work"}],
            "emails": ["a@example.kr", "b@example.kr"],
            "addresses": [{"line1": "세종대로 175", "city": "서울", "country": "KR"}],
            "tags": ["vip", "b2b"],
            "custom_fields": {"account": "A-1", "seats": 3},
            "notes": "line one\nline two",
        },
    )
    await created(crm.agent, "customers", {"name": "Bare"})
    export = await crm.admin.get("/api/v1/customers/export")
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    text = export.content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["name"] == '\'=HYPERLINK("x")'
    assert rows[0]["phones"] == "mobile:+821012345678;work:+8223123456"
    assert rows[0]["custom.seats"] == "3" and rows[1]["custom.account"] == ""

    report = await _import(crm, export.content)
    assert (report["committed"], report["created"], report["updated"]) == (True, 0, 2)
    again = await crm.admin.get("/api/v1/customers/export")
    assert again.content == export.content
    customer = (await crm.admin.get("/api/v1/customers", params={"external_id": "E-1"})).json()
    assert customer["items"][0]["name"] == '=HYPERLINK("x")'

    fresh = io.StringIO()
    writer = csv.writer(fresh)
    writer.writerows(row[1:] for row in csv.reader(io.StringIO(text)))
    copy = await crm.other.post(
        "/api/v1/customers/import", files={"file": ("c.csv", fresh.getvalue().encode())}
    )
    assert copy.json()["created"] == 2, copy.text
    copied = (await crm.other.get("/api/v1/customers/export")).content.decode("utf-8-sig")
    assert [r["name"] for r in csv.DictReader(io.StringIO(copied))] == [
        rows[0]["name"],
        "Bare",
    ]

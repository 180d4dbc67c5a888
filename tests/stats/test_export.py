"""CSV and XLSX files of report tables."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from helpline.stats.export import table, to_csv, to_xlsx


class Row(BaseModel):
    when: datetime
    name: str
    count: int
    share: float | None


BERLIN = ZoneInfo("Europe/Berlin")
ROWS = [
    Row(when=datetime(2026, 11, 2, 9, tzinfo=BERLIN), name="=1+1", count=3, share=0.25),
    Row(when=datetime(2026, 11, 2, 10, tzinfo=BERLIN), name="-x", count=0, share=None),
]


def test_csv_has_a_bom_crlf_iso_times_and_no_formulas() -> None:
    text = to_csv(table("rows", Row, ROWS)).decode("utf-8")
    assert text.startswith("\ufeffwhen,name,count,share\r\n")
    lines = text.removeprefix("\ufeff").split("\r\n")
    assert lines[1] == "2026-11-02T09:00:00+01:00,'=1+1,3,0.25"
    assert lines[2] == "2026-11-02T10:00:00+01:00,'-x,0,"


def test_xlsx_writes_numbers_as_numbers_and_texts_as_texts() -> None:
    book = zipfile.ZipFile(io.BytesIO(to_xlsx(table("my rows", Row, ROWS))))
    sheet = book.read("xl/worksheets/sheet1.xml").decode()
    strings = book.read("xl/sharedStrings.xml").decode()
    assert "<f>" not in sheet, "no formulas"
    assert "=1+1" in strings and "<v>0.25</v>" in sheet
    assert 'name="my rows"' in book.read("xl/workbook.xml").decode()

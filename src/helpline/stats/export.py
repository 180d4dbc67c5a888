"""CSV and XLSX exports of the reports: one column per field of the row schema.

CSV is UTF-8 with a byte-order mark and CRLF line ends (what spreadsheet programs
expect); times are ISO 8601 with their UTC offset; a text starting with ``=``, ``+``,
``-``, ``@`` or a control character gets a leading ``'`` so that no spreadsheet runs
it as a formula. XLSX (XlsxWriter) writes numbers as numbers, times as local date-times
in the tenant's zone, and texts as texts (never formulas); each table is a sheet.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum

import xlsxwriter  # type: ignore[import-untyped]
from pydantic import BaseModel

#: A value in an exported table.
Cell = str | int | float | bool | datetime | date | None

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_FORMULA = ("=", "+", "-", "@", "\t", "\r")
_MAX_SHEET_NAME = 31


@dataclass(frozen=True, slots=True)
class Table:
    """A named table: its columns and rows."""

    name: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]


def _cell(value: object) -> Cell:
    if isinstance(value, Enum):
        return str(value.value)
    if value is None or isinstance(value, str | int | float | bool | datetime | date):
        return value
    return str(value)


def table(name: str, model: type[BaseModel], rows: Sequence[BaseModel]) -> Table:
    """The rows of ``model`` (flat schemas) as a table with the model's field order."""
    columns = tuple(model.model_fields)
    return Table(
        name,
        columns,
        tuple(tuple(_cell(getattr(row, column)) for column in columns) for row in rows),
    )


def _csv_text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str):
        return "'" + value if value.startswith(_FORMULA) else value
    return repr(value) if isinstance(value, float) else str(value)


def to_csv(*tables: Table) -> bytes:
    """The tables one after another under one header (they share their columns)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(tables[0].columns if tables else ())
    for part in tables:
        writer.writerows([_csv_text(value) for value in row] for row in part.rows)
    return ("\ufeff" + out.getvalue()).encode()


def to_xlsx(*tables: Table) -> bytes:
    """A workbook with one sheet per table: a bold header row, then the rows."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        buffer,
        {
            "in_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    bold = workbook.add_format({"bold": True})
    moment = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    day = workbook.add_format({"num_format": "yyyy-mm-dd"})
    for part in tables:
        sheet = workbook.add_worksheet(part.name[:_MAX_SHEET_NAME])
        for column, title in enumerate(part.columns):
            sheet.write_string(0, column, title, bold)
        for number, row in enumerate(part.rows, start=1):
            for column, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, bool):
                    sheet.write_boolean(number, column, value)
                elif isinstance(value, int | float):
                    sheet.write_number(number, column, value)
                elif isinstance(value, datetime):
                    sheet.write_datetime(number, column, value.replace(tzinfo=None), moment)
                elif isinstance(value, date):
                    sheet.write_datetime(
                        number, column, datetime(value.year, value.month, value.day), day
                    )
                else:
                    sheet.write_string(number, column, value)
        sheet.freeze_panes(1, 0)
    workbook.close()
    return buffer.getvalue()

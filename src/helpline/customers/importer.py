"""CSV import and export of a tenant's customers.

One row per customer, UTF-8 (a byte-order mark is written for spreadsheet programs and
accepted on import), columns:

``id, external_id, name, title, company, tier, region, language, phones, emails, tags,
address_label, address_line1, address_line2, city, state, postal_code, country, notes``
and one ``custom.<name>`` column per custom field.

``phones`` is ``label:number`` entries separated by ``;`` (``mobile:+8613800138000;
work:02-312-3456``; a bare number is a mobile), ``emails`` and ``tags`` are separated
by ``;``. The address columns hold the usual address (a profile's other addresses are
kept by an update but not exported). Custom field values are imported as text.

Only ``name`` is required. A row with an ``id`` of the tenant's updates that customer, a
row whose ``external_id`` is known updates that one, any other row creates a customer;
an update replaces the whole profile with the row. Cells beginning with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return are exported behind a ``'`` so that spreadsheet
programs do not run them as formulas; the import removes it again.

Every row is checked before anything is written; the report names line (the header is
line 1), column and problem. ``all_or_nothing`` writes nothing if any row is bad,
``skip_bad_rows`` writes the good ones; a dry run writes nothing either way.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.audit import service as audit
from helpline.auth.principal import Principal
from helpline.core.errors import ApiError
from helpline.customers import service
from helpline.customers.lookup import InvalidNumber, normalize, tenant_region
from helpline.customers.models import Customer, PhoneLabel
from helpline.customers.schemas import (
    CustomerCreate,
    ImportIssue,
    ImportMode,
    ImportReport,
    PhoneIn,
)

MAX_IMPORT_BYTES = 20 * 1024 * 1024
MAX_IMPORT_ROWS = 50_000
CUSTOM_PREFIX = "custom."
ADDRESS_COLUMNS = {
    "address_label": "label",
    "address_line1": "line1",
    "address_line2": "line2",
    "city": "city",
    "state": "state",
    "postal_code": "postal_code",
    "country": "country",
}
COLUMNS = (
    "id",
    "external_id",
    "name",
    "title",
    "company",
    "tier",
    "region",
    "language",
    "phones",
    "emails",
    "tags",
    *ADDRESS_COLUMNS,
    "notes",
)
_TEXT = ("external_id", "name", "title", "company", "tier", "region", "language", "notes")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")
_BATCH = 1000


@dataclass(slots=True)
class _Row:
    line: int
    data: CustomerCreate
    phones: list[tuple[str, PhoneIn]]
    target: int | None
    """The id of the customer the row updates."""


def _protect(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA) else value


def _unprotect(value: str) -> str:
    return value[1:] if value.startswith("'") and value[1:].startswith(_FORMULA) else value


def _split(cell: str) -> list[str]:
    return [part.strip() for part in cell.split(";") if part.strip()]


def _phones(cell: str) -> list[dict[str, str]]:
    out = []
    for entry in _split(cell):
        label, sep, number = entry.partition(":")
        if sep and label.strip().lower() in PhoneLabel.__members__.values():
            out.append({"label": label.strip().lower(), "number": number.strip()})
        else:
            out.append({"label": PhoneLabel.MOBILE.value, "number": entry})
    return out


def _column(loc: tuple[int | str, ...]) -> str:
    if loc and loc[0] == "addresses":
        field = str(loc[2]) if len(loc) > 2 else "line1"
        return next((c for c, f in ADDRESS_COLUMNS.items() if f == field), "address_line1")
    if loc and loc[0] == "custom_fields" and len(loc) > 1:
        return f"{CUSTOM_PREFIX}{loc[1]}"
    return str(loc[0]) if loc else "row"


def _fields(cells: dict[str, str]) -> dict[str, Any]:
    fields: dict[str, Any] = {k: cells[k] or None for k in _TEXT if k in cells}
    if fields.get("tier") is None:
        fields.pop("tier", None)
    fields["phones"] = _phones(cells.get("phones", ""))
    fields["emails"] = _split(cells.get("emails", ""))
    fields["tags"] = _split(cells.get("tags", ""))
    address = {f: cells[c] for c, f in ADDRESS_COLUMNS.items() if cells.get(c)}
    fields["addresses"] = [{**address, "default": True}] if address else []
    fields["custom_fields"] = {
        k.removeprefix(CUSTOM_PREFIX): v
        for k, v in cells.items()
        if k.startswith(CUSTOM_PREFIX) and v
    }
    return fields


def _header(columns: list[str]) -> list[ImportIssue]:
    issues = [
        ImportIssue(row=1, field=c, error="unknown column")
        for c in columns
        if c not in COLUMNS and not (c.startswith(CUSTOM_PREFIX) and len(c) > len(CUSTOM_PREFIX))
    ]
    if "name" not in columns:
        issues.append(ImportIssue(row=1, field="name", error="the name column is missing"))
    if len(set(columns)) != len(columns):
        issues.append(ImportIssue(row=1, field="row", error="a column appears twice"))
    return issues


async def _known(
    session: AsyncSession, tenant_id: int, column: Any, values: set[Any]
) -> dict[Any, int]:
    found: dict[Any, int] = {}
    ordered = sorted(values)
    for start in range(0, len(ordered), _BATCH):
        chunk = ordered[start : start + _BATCH]
        stmt = select(column, Customer.id).where(Customer.tenant_id == tenant_id, column.in_(chunk))
        found.update({key: ident for key, ident in (await session.execute(stmt)).all()})
    return found


def _read(data: bytes) -> tuple[list[str], list[dict[str, str]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ApiError(
            f"the file is not UTF-8: {exc}",
            error_id="customer_import_encoding",
            status_code=422,
            details={"position": exc.start},
        ) from None
    reader = csv.DictReader(io.StringIO(text, newline=""), restval="", strict=True)
    try:
        rows = [
            {str(k).strip(): _unprotect((v or "").strip()) for k, v in row.items() if k is not None}
            for row in reader
        ]
    except csv.Error as exc:
        raise ApiError(
            f"the file is not valid CSV: {exc}",
            error_id="customer_import_csv",
            status_code=422,
            details={"line": reader.line_num},
        ) from None
    if len(rows) > MAX_IMPORT_ROWS:
        raise ApiError(
            f"at most {MAX_IMPORT_ROWS} rows per import",
            error_id="customer_import_too_large",
            status_code=413,
            details={"max_rows": MAX_IMPORT_ROWS},
        )
    return [str(c).strip() for c in reader.fieldnames or []], rows


async def _check(
    session: AsyncSession, tenant_id: int, region: str | None, rows: list[dict[str, str]]
) -> tuple[list[_Row], list[ImportIssue]]:
    ids = {int(r["id"]) for r in rows if r.get("id", "").isdigit()}
    known_ids = set(await _known(session, tenant_id, Customer.id, ids))
    externals = {r["external_id"] for r in rows if r.get("external_id")}
    known_externals = await _known(session, tenant_id, Customer.external_id, externals)
    good: list[_Row] = []
    issues: list[ImportIssue] = []
    seen_ids: set[int] = set()
    seen_externals: set[str] = set()
    for line, cells in enumerate(rows, start=2):
        problems: list[ImportIssue] = []
        target: int | None = None
        if cells.get("id"):
            if not cells["id"].isdigit() or int(cells["id"]) not in known_ids:
                problems.append(ImportIssue(row=line, field="id", error="no such customer"))
            elif int(cells["id"]) in seen_ids:
                problems.append(ImportIssue(row=line, field="id", error="appears twice"))
            else:
                target = int(cells["id"])
                seen_ids.add(target)
        external = cells.get("external_id") or None
        if external is not None:
            if external in seen_externals:
                problems.append(ImportIssue(row=line, field="external_id", error="appears twice"))
            seen_externals.add(external)
            owner = known_externals.get(external)
            if target is None:
                target = owner
            elif owner is not None and owner != target:
                problems.append(
                    ImportIssue(row=line, field="external_id", error="belongs to another customer")
                )
        fields = _fields(cells)
        for entry in fields["phones"]:
            try:
                normalize(entry["number"], region)
            except InvalidNumber as exc:
                problems.append(ImportIssue(row=line, field="phones", error=str(exc)))
        try:
            data = CustomerCreate.model_validate(fields)
        except ValidationError as exc:
            problems += [
                ImportIssue(row=line, field=_column(e["loc"]), error=e["msg"]) for e in exc.errors()
            ]
        if problems:
            issues += problems
            continue
        phones = service.normalize_phones(data.phones, region)
        good.append(_Row(line=line, data=data, phones=phones, target=target))
    return good, issues


def _update(customer: Customer, row: _Row, columns: set[str]) -> None:
    """Replace what the file's columns hold; what it has no column for stays."""
    data = row.data.model_dump(mode="json")
    for key in _TEXT:
        if key in columns:
            setattr(customer, key, data[key])
    for key in ("emails", "tags"):
        if key in columns:
            setattr(customer, key, data[key])
    if "phones" in columns:
        service.set_phones(customer, row.phones)
    if columns & set(ADDRESS_COLUMNS):
        current = list(customer.addresses)
        usual = next((a for a in current if a.get("default")), current[0] if current else None)
        customer.addresses = data["addresses"] + [a for a in current if a is not usual]
    custom = dict(customer.custom_fields)
    for column in columns:
        if column.startswith(CUSTOM_PREFIX):
            name = column.removeprefix(CUSTOM_PREFIX)
            custom.pop(name, None)
            if name in data["custom_fields"]:
                custom[name] = data["custom_fields"][name]
    customer.custom_fields = custom


async def _write(
    session: AsyncSession, tenant_id: int, rows: list[_Row], columns: set[str]
) -> tuple[int, int]:
    targets = [r.target for r in rows if r.target is not None]
    existing: dict[int, Customer] = {}
    for start in range(0, len(targets), _BATCH):
        stmt = select(Customer).where(
            Customer.tenant_id == tenant_id, Customer.id.in_(targets[start : start + _BATCH])
        )
        existing.update({c.id: c for c in (await session.execute(stmt)).scalars()})
    created = updated = 0
    for n, row in enumerate(rows, start=1):
        if row.target is None:
            customer = service.build_customer(tenant_id=tenant_id, data=row.data, phones=row.phones)
            session.add(customer)
            created += 1
        else:
            _update(existing[row.target], row, columns)
            updated += 1
        if n % _BATCH == 0:
            await session.flush()
    await session.flush()
    return created, updated


async def import_customers(
    session: AsyncSession,
    *,
    principal: Principal,
    data: bytes,
    mode: ImportMode,
    dry_run: bool,
) -> ImportReport:
    """Import a CSV file into the principal's tenant; the report says what happened."""
    columns, rows = _read(data)
    report = ImportReport(
        mode=mode,
        dry_run=dry_run,
        rows=len(rows),
        created=0,
        updated=0,
        skipped=0,
        committed=False,
        errors=_header(columns),
    )
    if report.errors:
        report.skipped = len(rows)
        return report
    region = await tenant_region(session, principal.tenant_id)
    good, issues = await _check(session, principal.tenant_id, region, rows)
    report.errors = issues
    report.skipped = len(rows) - len(good)
    if dry_run:
        return report
    if issues and mode is ImportMode.ALL_OR_NOTHING:
        report.skipped = len(rows)
        return report
    report.created, report.updated = await _write(session, principal.tenant_id, good, set(columns))
    report.committed = True
    await audit.record(
        session,
        actor=principal,
        tenant_id=principal.tenant_id,
        action="import",
        entity="customer",
        entity_id="csv",
        after={
            "rows": report.rows,
            "created": report.created,
            "updated": report.updated,
            "skipped": report.skipped,
        },
    )
    return report


def _address(customer: Customer) -> dict[str, Any]:
    addresses = customer.addresses
    usual = next((a for a in addresses if a.get("default")), addresses[0] if addresses else {})
    return {c: usual.get(f) or "" for c, f in ADDRESS_COLUMNS.items() if f != "default"}


def _row(customer: Customer, custom: list[str]) -> list[str]:
    cells: dict[str, Any] = {
        "id": str(customer.id),
        **{k: getattr(customer, k) or "" for k in _TEXT},
        "tier": customer.tier.value,
        "phones": ";".join(f"{p.label.value}:{p.e164}" for p in customer.phones),
        "emails": ";".join(customer.emails),
        "tags": ";".join(customer.tags),
        **_address(customer),
    }
    values = [str(cells[c]) for c in COLUMNS]
    for name in custom:
        value = customer.custom_fields.get(name)
        values.append(
            "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
        )
    return [_protect(v) for v in values]


async def export_customers(session: AsyncSession, *, principal: Principal) -> str:
    """Every customer of the principal's tenant as CSV text (with a byte-order mark)."""
    customers: list[Customer] = []
    last = 0
    while True:
        stmt = (
            select(Customer)
            .where(Customer.tenant_id == principal.tenant_id, Customer.id > last)
            .order_by(Customer.id)
            .limit(_BATCH)
        )
        batch = list((await session.execute(stmt)).scalars())
        if not batch:
            break
        customers += batch
        last = batch[-1].id
    custom = sorted({k for c in customers for k in c.custom_fields})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([*COLUMNS, *(CUSTOM_PREFIX + name for name in custom)])
    writer.writerows(_row(c, custom) for c in customers)
    return "\ufeff" + out.getvalue()

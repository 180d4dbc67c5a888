"""Phone numbers in E.164 and the screen-pop lookup of a caller's customer record.

Numbers are parsed with ``phonenumbers`` (Google's libphonenumber metadata) in the
tenant's default region, so ``010-1234-5678`` in Korea, ``138 0013 8000`` in China and
``(201) 555-0123`` in the US all become E.164 (``+821012345678`` ...), as do numbers
already written internationally (``+82 10 ...``, ``0082 10 ...``).

The default region of a tenant is, in order: the ``customer_settings.default_region``
an admin set, the country of the tenant's time zone (a short table of common zones),
the country of its locale (``zh`` -> CN, ``ko`` -> KR, ``en`` -> US), else none (only
international numbers are then understood).

:func:`lookup_by_number` is what call control calls when a call arrives: one indexed
equality on ``customer_phones (tenant_id, e164)`` joined to the customer's primary key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.customers.models import Customer, CustomerPhone, CustomerSettings, CustomerTier
from helpline.tenants.models import Tenant

_DIALABLE = re.compile(r"[^0-9+*#]")
_SIP_USER = re.compile(r"^(?:sips?|tel):([^@;]+)")

#: Countries of common time zones, for tenants without an explicit default region.
TIMEZONE_REGIONS: dict[str, str] = {
    "Asia/Shanghai": "CN",
    "Asia/Chongqing": "CN",
    "Asia/Harbin": "CN",
    "Asia/Urumqi": "CN",
    "PRC": "CN",
    "Asia/Hong_Kong": "HK",
    "Asia/Macau": "MO",
    "Asia/Taipei": "TW",
    "Asia/Seoul": "KR",
    "ROK": "KR",
    "Asia/Tokyo": "JP",
    "Asia/Singapore": "SG",
    "Europe/London": "GB",
    "Europe/Berlin": "DE",
    "Europe/Paris": "FR",
    "America/New_York": "US",
    "America/Chicago": "US",
    "America/Denver": "US",
    "America/Phoenix": "US",
    "America/Los_Angeles": "US",
    "America/Anchorage": "US",
    "Pacific/Honolulu": "US",
}
#: Countries of the product's languages, the last resort before "international only".
LOCALE_REGIONS: dict[str, str] = {"zh": "CN", "ko": "KR", "en": "US"}


class InvalidNumber(ValueError):
    """A text that is not a valid phone number (in the given region)."""


@dataclass(frozen=True, slots=True)
class CustomerBrief:
    """What a screen pop and the ACD need of the caller's customer record."""

    id: int
    name: str
    title: str | None
    company: str | None
    tier: CustomerTier
    """The ACD's customer type (``vip`` queues ahead)."""
    region: str | None
    """The ACD's caller region."""
    language: str | None
    e164: str
    """The number that matched."""
    ambiguous: bool
    """Other customers have this number too; the one shown has the lowest id."""


def _dialable(raw: str) -> str:
    text = raw.strip()
    if sip := _SIP_USER.match(text):
        text = sip.group(1)
    return _DIALABLE.sub("", text)


def normalize(raw: str, region: str | None) -> str:
    """``raw`` as a valid E.164 number, read in ``region`` unless it is international;
    :class:`InvalidNumber` if it is not a valid number."""
    try:
        number = phonenumbers.parse(raw, region)
    except NumberParseException as exc:
        raise InvalidNumber(f"{raw!r} is not a phone number: {exc}") from None
    if not phonenumbers.is_valid_number(number):
        where = f" in {region}" if region else " (write it with +country code)"
        raise InvalidNumber(f"{raw!r} is not a valid phone number{where}")
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def caller_e164(raw: str, region: str | None) -> str | None:
    """The E.164 form of a caller number as a trunk delivers it, or ``None``.

    Accepts SIP/tel URIs, separators, national numbers of ``region``, international
    ones with ``+``, ``00`` or the region's international prefix, and international
    ones without any (``8613800138000``, as some carriers send them).
    """
    digits = _dialable(raw)
    if not digits.strip("+"):
        return None
    candidates = [digits] if digits.startswith("+") else [digits, "+" + digits]
    if digits.startswith("00"):
        candidates.append("+" + digits[2:])
    for candidate in candidates:
        try:
            return normalize(candidate, region)
        except InvalidNumber:
            continue
    return None


def number_forms(e164: str) -> set[str]:
    """The ways a call record may spell ``e164``: itself, without ``+``, with ``00``,
    and the national form with and without the national prefix."""
    forms = {e164, e164[1:], "00" + e164[1:]}
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return forms
    national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    forms.add(_dialable(national))
    forms.add(phonenumbers.national_significant_number(number))
    return forms


def region_for(*, default_region: str | None, timezone: str, locale: str) -> str | None:
    """The region national numbers are read in (see the module docstring)."""
    if default_region:
        return default_region
    if timezone in TIMEZONE_REGIONS:
        return TIMEZONE_REGIONS[timezone]
    return LOCALE_REGIONS.get(locale.split("-")[0].lower())


async def tenant_region(session: AsyncSession, tenant_id: int) -> str | None:
    """The default region of ``tenant_id`` (one primary-key and one unique-key read)."""
    row = (
        await session.execute(
            select(Tenant.timezone, Tenant.locale, CustomerSettings.default_region)
            .outerjoin(CustomerSettings, CustomerSettings.tenant_id == Tenant.id)
            .where(Tenant.id == tenant_id)
        )
    ).first()
    if row is None:
        return None
    return region_for(default_region=row[2], timezone=row[0], locale=row[1])


async def lookup_by_number(
    session: AsyncSession, tenant_id: int, raw_number: str, *, region: str | None = None
) -> CustomerBrief | None:
    """The customer of ``tenant_id`` whose phone is the caller number ``raw_number``.

    ``region`` is the tenant's default region when the caller knows it (call control
    may cache :func:`tenant_region`); otherwise it is read first. ``None`` for withheld,
    unparsable or unknown numbers.
    """
    if region is None:
        region = await tenant_region(session, tenant_id)
    e164 = caller_e164(raw_number, region)
    if e164 is None:
        return None
    rows = (
        await session.execute(
            select(
                Customer.id,
                Customer.name,
                Customer.title,
                Customer.company,
                Customer.tier,
                Customer.region,
                Customer.language,
            )
            .join(CustomerPhone, CustomerPhone.customer_id == Customer.id)
            .where(CustomerPhone.tenant_id == tenant_id, CustomerPhone.e164 == e164)
            .order_by(Customer.id)
            .limit(2)
        )
    ).all()
    if not rows:
        return None
    first = rows[0]
    return CustomerBrief(
        id=first[0],
        name=first[1],
        title=first[2],
        company=first[3],
        tier=first[4],
        region=first[5],
        language=first[6],
        e164=e164,
        ambiguous=len(rows) > 1,
    )

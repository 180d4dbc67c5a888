"""Phone numbers to E.164 in the tenant's region, caller spellings, the region rules."""

from __future__ import annotations

import pytest

from helpline.customers.lookup import (
    InvalidNumber,
    caller_e164,
    normalize,
    number_forms,
    region_for,
)


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("138 0013 8000", "CN", "+8613800138000"),
        ("010-5812-3456", "CN", "+861058123456"),
        ("+86 138-0013-8000", "KR", "+8613800138000"),
        ("010-1234-5678", "KR", "+821012345678"),
        ("02-312-3456", "KR", "+8223123456"),
        ("0082 10 1234 5678", "CN", "+821012345678"),
        ("(201) 555-0123", "US", "+12015550123"),
        ("+1 201 555 0123", None, "+12015550123"),
    ],
)
def test_numbers_are_stored_in_e164_read_in_the_tenants_region(
    raw: str, region: str | None, e164: str
) -> None:
    assert normalize(raw, region) == e164


@pytest.mark.parametrize(
    ("raw", "region"),
    [("12345", "US"), ("not a number", "KR"), ("010-1234-5678", None), ("+999 1234 5678", "US")],
)
def test_invalid_or_unplaceable_numbers_are_refused(raw: str, region: str | None) -> None:
    with pytest.raises(InvalidNumber):
        normalize(raw, region)


@pytest.mark.parametrize(
    "raw",
    [
        "01012345678",
        "+821012345678",
        "821012345678",
        "00821012345678",
        "sip:01012345678@trunk.example.com",
        "tel:+82-10-1234-5678",
    ],
)
def test_caller_numbers_in_every_carrier_spelling_find_the_same_e164(raw: str) -> None:
    assert caller_e164(raw, "KR") == "+821012345678"


@pytest.mark.parametrize("raw", ["", "anonymous", "sip:anonymous@anonymous.invalid", "12"])
def test_withheld_or_short_callers_have_no_e164(raw: str) -> None:
    assert caller_e164(raw, "KR") is None


def test_call_records_are_matched_in_national_and_international_spellings() -> None:
    forms = number_forms("+821012345678")
    assert {"+821012345678", "821012345678", "00821012345678", "01012345678"} <= forms


def test_region_comes_from_setting_then_timezone_then_locale() -> None:
    assert region_for(default_region="HK", timezone="Asia/Seoul", locale="zh") == "HK"
    assert region_for(default_region=None, timezone="Asia/Seoul", locale="zh") == "KR"
    assert region_for(default_region=None, timezone="UTC", locale="zh") == "CN"
    assert region_for(default_region=None, timezone="UTC", locale="fr") is None

"""Spoken numbers, amounts, dates, times and queue sentences in English, Chinese and Korean."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from helpline.prompts.catalog import SYSTEM_PROMPTS
from helpline.prompts.language import Language
from helpline.prompts.say import (
    MAX_NUMBER,
    expected_wait_sentence,
    queue_position_sentence,
    say_amount,
    say_date,
    say_digits,
    say_duration,
    say_number,
    say_ordinal,
    say_time,
)

EN, ZH, KO = Language.EN, Language.ZH, Language.KO

_ZH_CHARS = {
    "0": "零",
    "1": "一",
    "2": "二",
    "3": "三",
    "4": "四",
    "5": "五",
    "6": "六",
    "7": "七",
    "8": "八",
    "9": "九",
    "10": "十",
    "liang": "两",
    "hundred": "百",
    "thousand": "千",
    "ten-thousand": "万",
    "hundred-million": "亿",
    "minus": "负",
}
_KO_CHARS = {
    "0": "영",
    "1": "일",
    "2": "이",
    "3": "삼",
    "4": "사",
    "5": "오",
    "6": "육",
    "7": "칠",
    "8": "팔",
    "9": "구",
    "10": "십",
    "hundred": "백",
    "thousand": "천",
    "ten-thousand": "만",
    "hundred-million": "억",
}


def zh(n: int, *, counted: bool = True) -> str:
    names = say_number(n, ZH, counted=counted)
    return "".join(_ZH_CHARS[name.removeprefix("digits/")] for name in names)


def ko(n: int) -> str:
    return "".join(_KO_CHARS[name.removeprefix("digits/")] for name in say_number(n, KO))


def en(n: int) -> str:
    return " ".join(name.split("/")[1] for name in say_number(n, EN))


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (0, "0"),
        (7, "7"),
        (10, "10"),
        (11, "11"),
        (19, "19"),
        (20, "20"),
        (21, "20 1"),
        (99, "90 9"),
        (100, "1 hundred"),
        (101, "1 hundred 1"),
        (110, "1 hundred 10"),
        (115, "1 hundred 15"),
        (1000, "1 thousand"),
        (1001, "1 thousand 1"),
        (10000, "10 thousand"),
        (10010, "10 thousand 10"),
        (100000, "1 hundred thousand"),
        (1000000, "1 million"),
        (100000000, "1 hundred million"),
        (1234567, "1 million 2 hundred 30 4 thousand 5 hundred 60 7"),
        (2_000_000_001, "2 billion 1"),
        (
            MAX_NUMBER,
            "9 hundred 90 9 billion 9 hundred 90 9 million 9 hundred 90 9 thousand 9 hundred 90 9",
        ),
    ],
)
def test_english_cardinals(n: int, words: str) -> None:
    assert en(n) == words


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "零"),
        (1, "一"),
        (2, "两"),
        (10, "十"),
        (11, "十一"),
        (12, "十二"),
        (20, "二十"),
        (22, "二十二"),
        (100, "一百"),
        (101, "一百零一"),
        (110, "一百一十"),
        (111, "一百一十一"),
        (200, "两百"),
        (220, "两百二十"),
        (1000, "一千"),
        (1001, "一千零一"),
        (1010, "一千零一十"),
        (1100, "一千一百"),
        (2000, "两千"),
        (2222, "两千二百二十二"),
        (10000, "一万"),
        (10010, "一万零一十"),
        (10100, "一万零一百"),
        (11000, "一万一千"),
        (20000, "两万"),
        (22000, "两万二千"),
        (100000, "十万"),
        (110000, "十一万"),
        (200000, "二十万"),
        (1100000, "一百一十万"),
        (2000000, "两百万"),
        (10001000, "一千万一千"),
        (10000100, "一千万零一百"),
        (100000000, "一亿"),
        (100000001, "一亿零一"),
        (100010000, "一亿零一万"),
        (200000000, "两亿"),
        (1000000000, "十亿"),
        (-3, "负三"),
    ],
)
def test_chinese_cardinals_use_liang_ling_and_drop_leading_yi(n: int, text: str) -> None:
    assert zh(n) == text


@pytest.mark.parametrize(
    ("n", "text"),
    [(2, "二"), (12, "十二"), (200, "二百"), (2000, "二千"), (20000, "二万"), (22, "二十二")],
)
def test_chinese_labels_and_ranks_say_er_not_liang(n: int, text: str) -> None:
    assert zh(n, counted=False) == text


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "영"),
        (1, "일"),
        (10, "십"),
        (11, "십일"),
        (20, "이십"),
        (100, "백"),
        (101, "백일"),
        (110, "백십"),
        (111, "백십일"),
        (1000, "천"),
        (1111, "천백십일"),
        (2020, "이천이십"),
        (10000, "만"),
        (10010, "만십"),
        (11000, "만천"),
        (20000, "이만"),
        (100000, "십만"),
        (110000, "십일만"),
        (10000000, "천만"),
        (100000000, "일억"),
        (100010000, "일억만"),
        (100000001, "일억일"),
        (123456789, "일억이천삼백사십오만육천칠백팔십구"),
    ],
)
def test_korean_sino_numbers_omit_il_before_ten_hundred_thousand_and_man(n: int, text: str) -> None:
    assert ko(n) == text


def test_numbers_out_of_range_or_not_int_are_refused() -> None:
    with pytest.raises(ValueError):
        say_number(MAX_NUMBER + 1, EN)
    with pytest.raises(TypeError):
        say_number(1.5, EN)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        say_number(True, EN)


def test_digits_are_read_one_by_one_and_korean_zero_is_gong() -> None:
    assert say_digits("2010", EN) == ["digits/2", "digits/0", "digits/1", "digits/0"]
    assert say_digits(2010, ZH) == ["digits/2", "digits/0", "digits/1", "digits/0"]
    assert say_digits("2010", KO)[1] == "digits/gong"
    with pytest.raises(ValueError):
        say_digits("12a", EN)
    with pytest.raises(ValueError):
        say_digits("١٢", EN)


@pytest.mark.parametrize(
    ("n", "names"),
    [
        (1, ["ordinals/1"]),
        (3, ["ordinals/3"]),
        (12, ["ordinals/12"]),
        (20, ["ordinals/20"]),
        (21, ["digits/20", "ordinals/1"]),
        (100, ["digits/1", "ordinals/hundred"]),
        (101, ["digits/1", "digits/hundred", "ordinals/1"]),
        (1000, ["digits/1", "ordinals/thousand"]),
        (2_000_000, ["digits/2", "ordinals/million"]),
    ],
)
def test_english_ordinals_change_the_last_word(n: int, names: list[str]) -> None:
    assert say_ordinal(n, EN) == names


def test_chinese_and_korean_ordinals_take_a_prefix() -> None:
    assert say_ordinal(2, ZH) == ["ordinals/prefix", "digits/2"]
    assert say_ordinal(10, KO) == ["ordinals/prefix", "digits/10"]
    with pytest.raises(ValueError):
        say_ordinal(0, EN)


def test_queue_position_sentence_in_three_languages() -> None:
    assert queue_position_sentence(3, EN) == [
        "queue/you-are-number",
        "digits/3",
        "queue/in-the-queue",
    ]
    # 第二位, never 两位, for a rank.
    assert queue_position_sentence(2, ZH)[1:-1] == ["digits/2"]
    assert queue_position_sentence(12, KO)[1:-1] == ["digits/10", "digits/2"]
    with pytest.raises(ValueError):
        queue_position_sentence(0, EN)


@pytest.mark.parametrize(
    ("seconds", "language", "names"),
    [
        (0, EN, ["time/less-than-a-minute"]),
        (59, ZH, ["time/less-than-a-minute"]),
        (60, EN, ["words/about", "digits/1", "time/minute"]),
        (89, EN, ["words/about", "digits/1", "time/minute"]),
        (90, EN, ["words/about", "digits/2", "time/minutes"]),
        (180, EN, ["words/about", "digits/3", "time/minutes"]),
        (120, ZH, ["words/about", "digits/liang", "time/minutes"]),
        (600, ZH, ["words/about", "digits/10", "time/minutes"]),
        (
            3600 + 1800,
            EN,
            ["words/about", "digits/1", "time/hour", "words/and", "digits/30", "time/minutes"],
        ),
        (7200, ZH, ["words/about", "digits/liang", "time/hour"]),
        (5400, KO, ["words/about", "digits/9", "digits/10", "time/minutes"]),
    ],
)
def test_durations_round_to_minutes(seconds: float, language: Language, names: list[str]) -> None:
    assert say_duration(seconds, language) == names


def test_expected_wait_sentence_and_exact_duration() -> None:
    assert expected_wait_sentence(300, KO) == [
        "queue/expected-wait",
        "words/about",
        "digits/5",
        "time/minutes",
    ]
    assert say_duration(120, EN, approximate=False) == ["digits/2", "time/minutes"]
    with pytest.raises(ValueError):
        say_duration(-1, EN)


@pytest.mark.parametrize(
    ("value", "currency", "language", "names"),
    [
        ("0", "USD", EN, ["digits/0", "currency/dollars"]),
        ("1", "USD", EN, ["digits/1", "currency/dollar"]),
        (
            "1.01",
            "USD",
            EN,
            ["digits/1", "currency/dollar", "words/and", "digits/1", "currency/cent"],
        ),
        ("0.50", "USD", EN, ["digits/50", "currency/cents"]),
        (
            "2.005",
            "EUR",
            EN,
            ["digits/2", "currency/euros", "words/and", "digits/1", "currency/euro-cent"],
        ),
        ("-3", "USD", EN, ["digits/minus", "digits/3", "currency/dollars"]),
        (
            "3.52",
            "CNY",
            ZH,
            [
                "digits/3",
                "currency/yuan",
                "digits/5",
                "currency/jiao",
                "digits/liang",
                "currency/fen",
            ],
        ),
        ("3.05", "CNY", ZH, ["digits/3", "currency/yuan", "digits/0", "digits/5", "currency/fen"]),
        ("0.05", "CNY", ZH, ["digits/5", "currency/fen"]),
        ("2", "CNY", ZH, ["digits/liang", "currency/yuan"]),
        ("200", "USD", ZH, ["digits/liang", "digits/hundred", "currency/dollar"]),
        ("1000", "KRW", KO, ["digits/thousand", "currency/won"]),
        ("10000.4", "KRW", KO, ["digits/ten-thousand", "currency/won"]),
        (
            "3.50",
            "USD",
            KO,
            ["digits/3", "currency/dollar", "digits/5", "digits/10", "currency/cent"],
        ),
    ],
)
def test_amounts(value: str, currency: str, language: Language, names: list[str]) -> None:
    assert say_amount(Decimal(value), language, currency=currency) == names


def test_amounts_refuse_unknown_currency_and_garbage() -> None:
    with pytest.raises(ValueError):
        say_amount("1", EN, currency="XYZ")
    with pytest.raises(ValueError):
        say_amount("lots", EN)
    with pytest.raises(ValueError):
        say_amount("NaN", EN)


def test_dates_in_three_languages() -> None:
    day = dt.date(2025, 3, 3)  # a Monday
    assert say_date(day, EN) == [
        "weekdays/monday",
        "months/march",
        "ordinals/3",
        "digits/20",
        "digits/20",
        "digits/5",
    ]
    assert say_date(day, ZH) == [
        *("digits/2", "digits/0", "digits/2", "digits/5", "dates/year"),
        *("months/march", "digits/3", "dates/day", "weekdays/monday"),
    ]
    assert say_date(day, KO, weekday=False) == [
        *("digits/2", "digits/thousand", "digits/2", "digits/10", "digits/5", "dates/year"),
        *("months/march", "digits/3", "dates/day"),
    ]


@pytest.mark.parametrize(
    ("year", "words"),
    [
        (2000, "2 thousand"),
        (2005, "2 thousand 5"),
        (2010, "20 10"),
        (1999, "19 90 9"),
        (1905, "19 oh 5"),
        (1900, "19 hundred"),
        (987, "9 hundred 80 7"),
    ],
)
def test_english_years(year: int, words: str) -> None:
    names = say_date(dt.date(year, 1, 1), EN, weekday=False)[2:]
    assert " ".join(n.split("/")[1] for n in names) == words


def test_times_of_day() -> None:
    assert say_time(dt.time(15, 5), EN) == ["digits/3", "digits/oh", "digits/5", "time/pm"]
    assert say_time(dt.time(0, 0), EN) == ["digits/12", "time/oclock", "time/am"]
    assert say_time(dt.time(14, 2), ZH) == [
        *("time/pm", "digits/liang", "time/oclock"),
        *("digits/0", "digits/2", "time/minute-mark"),
    ]
    assert say_time(dt.time(9, 30), KO) == [
        *("time/am", "time/hour-9", "digits/3", "digits/10", "time/minute-mark"),
    ]


def _everything(language: Language) -> set[str]:
    names: set[str] = set()
    numbers = [*range(0, 1200), *(10**k + d for k in range(3, 12) for d in (0, 1, 10, 2 * 10**k))]
    for n in numbers:
        if n <= MAX_NUMBER:
            names.update(say_number(n, language))
            names.update(say_number(-n, language, counted=False))
            if n:
                names.update(say_ordinal(n, language))
    names.update(say_digits("0123456789", language))
    for currency in ("USD", "EUR", "CNY", "KRW"):
        for value in ("0", "1", "2.02", "1.10", "0.01", "12.99"):
            names.update(say_amount(value, language, currency=currency))
    day = dt.date(2024, 1, 1)
    for offset in range(366):
        names.update(say_date(day + dt.timedelta(days=offset), language))
    for hour in range(24):
        for minute in (0, 5, 30):
            names.update(say_time(dt.time(hour, minute), language))
    for seconds in (30, 60, 120, 3600, 3660, 7320):
        names.update(expected_wait_sentence(seconds, language))
    names.update(queue_position_sentence(1, language))
    return names


@pytest.mark.parametrize("language", list(Language))
def test_every_name_say_produces_is_in_the_system_catalog(language: Language) -> None:
    missing = _everything(language) - set(SYSTEM_PROMPTS[language])
    assert not missing

"""Numbers, digits, amounts, dates, times and durations as sequences of prompt names.

Every function is pure: it returns the names of the prompts to play in order (``digits/3``,
``digits/hundred``, ...), which :mod:`helpline.prompts.library` turns into files. The
names each language uses are recorded in :mod:`helpline.prompts.catalog`.

English
    Short-scale cardinals (``twenty one``, ``one hundred five``; no "and"), ordinals by
    replacing the last word (``twenty first``), years in pairs (``nineteen oh five``,
    ``twenty twenty five``, ``two thousand five``).
Chinese (Mandarin)
    Groups of four digits under 万 and 亿. Inside a group, a run of zeros between digits
    is one 零 and trailing zeros are silent; a lower group below 1000 after a higher one
    starts with 零 (一万零一十, 一亿零一). A leading 1 before 十 is dropped (十, 十五,
    十万) but kept inside a number (一百一十). With ``counted=True`` (a quantity before a
    measure word: minutes, yuan, o'clock) a leading 2 becomes 两 before 百, 千, 万, 亿
    and when the number is 2 itself (两分钟, 两百); everywhere else it stays 二 (二十,
    第二, 两千二百).
Korean
    Sino-Korean numerals in groups of four under 만 and 억. Zeros are never spoken; 일 is
    dropped before 십, 백, 천 (십, 백십, 천) and before 만 (만, not 일만), but kept before
    억 (일억). Hours of the day use native numerals, recorded whole (``time/hour-3`` =
    세 시); durations are always in minutes (90분), which needs no native counter.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Final

from helpline.prompts.language import Language

MAX_NUMBER: Final = 10**12 - 1
"""The largest magnitude spoken (999 billion; 9999亿; 9999억)."""

MONTHS: Final = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
WEEKDAYS: Final = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
CURRENCIES: Final = ("USD", "EUR", "CNY", "KRW")

_EN_SCALES: Final = ((10**9, "billion"), (10**6, "million"), (10**3, "thousand"))
_ZH_UNITS: Final = ("", "digits/10", "digits/hundred", "digits/thousand")
_KO_UNITS: Final = _ZH_UNITS
_ZERO: Final = "digits/0"


def _check(n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"an int is needed, got {type(n).__name__}")
    if abs(n) > MAX_NUMBER:
        raise ValueError(f"{n} is out of range (at most {MAX_NUMBER} in magnitude)")


# -- English -------------------------------------------------------------------------------


def _en_below_1000(n: int) -> list[str]:
    out: list[str] = []
    hundreds, rest = divmod(n, 100)
    if hundreds:
        out += [f"digits/{hundreds}", "digits/hundred"]
    if rest >= 20:
        tens, units = divmod(rest, 10)
        out.append(f"digits/{tens * 10}")
        if units:
            out.append(f"digits/{units}")
    elif rest:
        out.append(f"digits/{rest}")
    return out


def _en_number(n: int) -> list[str]:
    if n == 0:
        return [_ZERO]
    out: list[str] = []
    for scale, word in _EN_SCALES:
        count, n = divmod(n, scale)
        if count:
            out += [*_en_below_1000(count), f"digits/{word}"]
    return out + _en_below_1000(n)


def _en_year(year: int) -> list[str]:
    if year < 1000 or 2000 <= year <= 2009:
        return _en_number(year)
    high, low = divmod(year, 100)
    if low == 0:
        return [*_en_number(high), "digits/hundred"]
    if low < 10:
        return [*_en_number(high), "digits/oh", f"digits/{low}"]
    return _en_number(high) + _en_number(low)


# -- Chinese -------------------------------------------------------------------------------


def _zh_group(group: int, *, leading: bool, counted: bool) -> list[str]:
    out: list[str] = []
    started = zero_pending = False
    for pos in (3, 2, 1, 0):
        digit = group // 10**pos % 10
        if digit == 0:
            zero_pending = started
            continue
        if zero_pending:
            out.append(_ZERO)
            zero_pending = False
        first = leading and not started
        if first and digit == 1 and pos == 1:
            pass  # 十, 十五, 十万: no 一 before a leading 十
        elif first and digit == 2 and counted and pos != 1:
            out.append("digits/liang")
        else:
            out.append(f"digits/{digit}")
        if pos:
            out.append(_ZH_UNITS[pos])
        started = True
    return out


def _grouped(n: int) -> list[tuple[int, str]]:
    return [
        (n // 10**8, "digits/hundred-million"),
        (n // 10**4 % 10**4, "digits/ten-thousand"),
        (n % 10**4, ""),
    ]


def _zh_number(n: int, *, counted: bool) -> list[str]:
    if n == 0:
        return [_ZERO]
    out: list[str] = []
    started = zero_pending = False
    for group, unit in _grouped(n):
        if group == 0:
            zero_pending = started
            continue
        if started and (zero_pending or group < 1000):
            out.append(_ZERO)
        out += _zh_group(group, leading=not started, counted=counted)
        if unit:
            out.append(unit)
        started, zero_pending = True, False
    return out


# -- Korean --------------------------------------------------------------------------------


def _ko_group(group: int) -> list[str]:
    out: list[str] = []
    for pos in (3, 2, 1, 0):
        digit = group // 10**pos % 10
        if digit == 0:
            continue
        if digit != 1 or pos == 0:
            out.append(f"digits/{digit}")
        if pos:
            out.append(_KO_UNITS[pos])
    return out


def _ko_number(n: int) -> list[str]:
    if n == 0:
        return [_ZERO]
    out: list[str] = []
    for group, unit in _grouped(n):
        if group == 0:
            continue
        if group == 1 and unit == "digits/ten-thousand":
            out.append(unit)  # 만, not 일만
            continue
        out += _ko_group(group)
        if unit:
            out.append(unit)
    return out


# -- Public API ----------------------------------------------------------------------------


def say_number(n: int, language: Language, *, counted: bool = True) -> list[str]:
    """The prompts reading the integer ``n`` (negative numbers start with ``digits/minus``).

    ``counted`` only matters in Chinese: a quantity before a measure word says 两 for a
    leading 2 (两分钟, 两百元); ``counted=False`` reads a label or rank (第二, 二号).
    """
    _check(n)
    sign = ["digits/minus"] if n < 0 else []
    n = abs(n)
    if language is Language.ZH:
        return sign + _zh_number(n, counted=counted)
    if language is Language.KO:
        return sign + _ko_number(n)
    return sign + _en_number(n)


def say_digits(digits: str | int, language: Language) -> list[str]:
    """The prompts reading a digit string one digit at a time (phone numbers, codes).

    Korean reads 0 as 공 (``digits/gong``) here, as on the telephone.
    """
    text = str(digits)
    if not text.isascii() or not text.isdigit():
        raise ValueError(f"{text!r} is not a string of digits")
    zero = "digits/gong" if language is Language.KO else _ZERO
    return [zero if ch == "0" else f"digits/{ch}" for ch in text]


def say_ordinal(n: int, language: Language) -> list[str]:
    """The prompts reading the ordinal of ``n`` >= 1: twenty first, 第二十一, 제이십일."""
    _check(n)
    if n < 1:
        raise ValueError("ordinals start at 1")
    if language is Language.EN:
        words = _en_number(n)
        last = words[-1].removeprefix("digits/")
        return [*words[:-1], f"ordinals/{last}"]
    return ["ordinals/prefix", *say_number(n, language, counted=False)]


def _quantize(value: Decimal | int | str, places: int) -> Decimal:
    try:
        amount = Decimal(value)
    except InvalidOperation as exc:
        raise ValueError(f"{value!r} is not an amount") from exc
    if not amount.is_finite():
        raise ValueError(f"{value!r} is not an amount")
    return amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


_UNITS: Final[dict[str, tuple[str, str, str, str]]] = {
    # currency: major singular, major plural, minor singular, minor plural
    "USD": ("currency/dollar", "currency/dollars", "currency/cent", "currency/cents"),
    "EUR": ("currency/euro", "currency/euros", "currency/euro-cent", "currency/euro-cents"),
    "CNY": ("currency/yuan", "currency/yuan", "currency/fen", "currency/fen"),
    "KRW": ("currency/won", "currency/won", "", ""),
}


def _zh_cny_minor(minor: int, *, after_major: bool) -> list[str]:
    jiao, fen = divmod(minor, 10)
    out: list[str] = []
    if jiao:
        out += [*_zh_number(jiao, counted=True), "currency/jiao"]
    if fen:
        if after_major and not jiao:
            out.append(_ZERO)  # 三元零五分
        out += [*_zh_number(fen, counted=True), "currency/fen"]
    return out


def say_amount(
    value: Decimal | int | str, language: Language, *, currency: str = "USD"
) -> list[str]:
    """The prompts reading a sum of money, rounded half up to the currency's minor unit.

    ``currency`` is one of :data:`CURRENCIES`. English: three dollars and five cents;
    Chinese: 三元五角二分, 三美元五美分; Korean: 삼 달러 오 센트, 천 원.
    """
    if currency not in _UNITS:
        raise ValueError(f"currency {currency!r} is not one of {', '.join(CURRENCIES)}")
    one, many, minor_one, minor_many = _UNITS[currency]
    places = 0 if currency == "KRW" else 2
    amount = _quantize(value, places)
    sign = ["digits/minus"] if amount < 0 else []
    major, minor = divmod(int(abs(amount).scaleb(places)), 10**places)
    _check(major)
    english = language is Language.EN
    out = list(sign)
    if major or not minor:
        out += say_number(major, language)
        out.append(one if major == 1 or not english else many)
    if not minor:
        return out
    if language is Language.ZH and currency == "CNY":
        return out + _zh_cny_minor(minor, after_major=bool(major))
    if english and major:
        out.append("words/and")
    out += say_number(minor, language)
    out.append(minor_one if minor == 1 or not english else minor_many)
    return out


def say_date(day: dt.date, language: Language, *, weekday: bool = True) -> list[str]:
    """The prompts reading a date: Monday, March third, twenty twenty five; 二零二五年三月三日
    星期一; 이천이십오 년 삼월 삼 일 월요일."""
    week = [f"weekdays/{WEEKDAYS[day.weekday()]}"] if weekday else []
    month = f"months/{MONTHS[day.month - 1]}"
    if language is Language.EN:
        return [*week, month, *say_ordinal(day.day, language), *_en_year(day.year)]
    if language is Language.ZH:
        year = say_digits(f"{day.year}", language)
        days = _zh_number(day.day, counted=False)
        return [*year, "dates/year", month, *days, "dates/day", *week]
    return [*_ko_number(day.year), "dates/year", month, *_ko_number(day.day), "dates/day", *week]


def say_time(moment: dt.time, language: Language) -> list[str]:
    """The prompts reading a time of day on a 12-hour clock: three oh five p m; 下午三点零五分;
    오후 세 시 오 분."""
    hour = moment.hour % 12 or 12
    half = "time/am" if moment.hour < 12 else "time/pm"
    minute = moment.minute
    if language is Language.EN:
        if minute == 0:
            tail = ["time/oclock"]
        elif minute < 10:
            tail = ["digits/oh", f"digits/{minute}"]
        else:
            tail = _en_number(minute)
        return [*_en_number(hour), *tail, half]
    if language is Language.ZH:
        out = [half, *_zh_number(hour, counted=True), "time/oclock"]
        if minute:
            zero = [_ZERO] if minute < 10 else []
            out += [*zero, *_zh_number(minute, counted=False), "time/minute-mark"]
        return out
    out = [half, f"time/hour-{hour}"]
    if minute:
        out += [*_ko_number(minute), "time/minute-mark"]
    return out


def say_duration(seconds: float, language: Language, *, approximate: bool = True) -> list[str]:
    """The prompts reading a wait: about three minutes, 大约两分钟, 약 구십 분.

    Under a minute is "less than a minute"; otherwise whole minutes (rounded half up),
    as hours and minutes from an hour on in English and Chinese (Korean stays in minutes).
    """
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    if seconds < 60:
        return ["time/less-than-a-minute"]
    minutes = int(Decimal(seconds / 60).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    about = ["words/about"] if approximate else []
    hours, rest = divmod(minutes, 60) if language is not Language.KO else (0, minutes)
    english = language is Language.EN
    out = list(about)
    if hours:
        out += say_number(hours, language)
        out.append("time/hour" if hours == 1 or not english else "time/hours")
        if rest and english:
            out.append("words/and")
    if rest:
        out += say_number(rest, language)
        out.append("time/minute" if rest == 1 and english else "time/minutes")
    return out


def queue_position_sentence(position: int, language: Language) -> list[str]:
    """ "You are number N in the queue" (您在队列中排第N位; 고객님의 대기 순번은 N번입니다)."""
    if position < 1:
        raise ValueError("queue positions start at 1")
    number = say_number(position, language, counted=False)
    return ["queue/you-are-number", *number, "queue/in-the-queue"]


def expected_wait_sentence(seconds: float, language: Language) -> list[str]:
    """ "Your expected wait is about N minutes" in ``language``."""
    return ["queue/expected-wait", *say_duration(seconds, language)]

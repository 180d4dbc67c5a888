"""The system prompt set: every name :mod:`helpline.prompts.say` produces, and the sentences
call control plays, with the text each language speaks.

``scripts/make_system_prompts.py`` synthesizes these texts with espeak-ng into
``system/<language>/<name>.wav``. Chinese is spoken from tone-numbered pinyin with the
``cmn-latn-pinyin`` voice: espeak-ng 1.51's hanzi reading falls back to English for common
characters (一, 两, 百 ...), pinyin input is read reliably. The hanzi stay next to it as the
text a person reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from helpline.prompts.language import Language
from helpline.prompts.say import MONTHS, WEEKDAYS


@dataclass(frozen=True, slots=True)
class Entry:
    """One system prompt: what it says, and the input handed to the synthesizer."""

    text: str
    speak: str


SYSTEM_RATE: Final = 170
"""Words per minute of the system set: a little brisker than TTS previews, to stay small."""
SYSTEM_VOICES: Final = {Language.EN: "en-us", Language.ZH: "cmn-latn-pinyin", Language.KO: "ko"}
COMMON: Final = ("beep", "moh/default")
"""Language-independent prompts, kept in ``system/common``."""

_EN_UNITS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_EN_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_EN_ORD_UNITS = [
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
    "eleventh",
    "twelfth",
    "thirteenth",
    "fourteenth",
    "fifteenth",
    "sixteenth",
    "seventeenth",
    "eighteenth",
    "nineteenth",
]
_EN_ORD_TENS = [
    "twentieth",
    "thirtieth",
    "fortieth",
    "fiftieth",
    "sixtieth",
    "seventieth",
    "eightieth",
    "ninetieth",
]

_SENTENCES: Final[dict[str, tuple[str, tuple[str, str], str]]] = {
    # name: (English, (hanzi, pinyin), Korean)
    "queue/you-are-number": (
        "You are number",
        ("您在队列中排第", "nin2 zai4 dui4 lie4 zhong1 pai2 di4"),
        "고객님의 대기 순번은",
    ),
    "queue/in-the-queue": ("in the queue.", ("位", "wei4"), "번입니다."),
    "queue/expected-wait": (
        "Your expected wait time is",
        ("预计等待时间", "yu4 ji4 deng3 dai4 shi2 jian1"),
        "예상 대기 시간은",
    ),
    "queue/please-hold": (
        "Please hold.",
        ("请稍候", "qing3 shao1 hou4"),
        "잠시만 기다려 주십시오.",
    ),
    "queue/all-agents-busy": (
        "All of our agents are busy at the moment.",
        ("所有座席都在忙", "suo3 you3 zuo4 xi2 dou1 zai4 mang2"),
        "지금은 모든 상담원이 통화 중입니다.",
    ),
    "queue/callback-offer": (
        "To be called back without losing your place, press",
        (
            "如需保留排队位置并等候回电，请按",
            "ru2 xu1 bao3 liu2 pai2 dui4 wei4 zhi4 bing4 deng3 hou4 hui2 dian4 qing3 an4",
        ),
        "대기 순서를 유지하면서 전화를 다시 받으시려면",
    ),
    "queue/callback-confirmed": (
        "Thank you. We will call you back when it is your turn.",
        (
            "谢谢。轮到您时我们会给您回电。",
            "xie4 xie4 lun2 dao4 nin2 shi2 wo3 men5 hui4 gei3 nin2 hui2 dian4",
        ),
        "감사합니다. 순서가 되면 다시 전화드리겠습니다.",
    ),
    "queue/callback-greeting": (
        "This is the call back you asked for. Please hold for an agent.",
        (
            "这是您预约的回电，请稍候。",
            "zhe4 shi4 nin2 yu4 yue1 de5 hui2 dian4 qing3 shao1 hou4",
        ),
        "요청하신 회신 전화입니다. 잠시만 기다려 주십시오.",
    ),
    "ivr/thank-you-for-calling": (
        "Thank you for calling.",
        ("感谢您的来电", "gan3 xie4 nin2 de lai2 dian4"),
        "전화해 주셔서 감사합니다.",
    ),
    "ivr/goodbye": ("Goodbye.", ("再见", "zai4 jian4"), "안녕히 계십시오."),
    "ivr/invalid-option": (
        "That is not a valid option.",
        ("选项无效", "xuan3 xiang4 wu2 xiao4"),
        "잘못된 선택입니다.",
    ),
    "ivr/please-try-again": (
        "Please try again.",
        ("请重试", "qing3 chong2 shi4"),
        "다시 시도해 주십시오.",
    ),
    "ivr/please-enter": ("Please enter", ("请输入", "qing3 shu1 ru4"), "입력해 주십시오."),
    "ivr/press": ("press", ("请按", "qing3 an4"), "누르십시오."),
    "ivr/for": ("For", ("如需", "ru2 xu1"), "원하시면"),
    "ivr/leave-message-after-tone": (
        "Please leave a message after the tone.",
        ("请在提示音后留言", "qing3 zai4 ti2 shi4 yin1 hou4 liu2 yan2"),
        "삐 소리가 나면 메시지를 남겨 주십시오.",
    ),
}


def _english() -> dict[str, str]:
    out = {f"digits/{i}": word for i, word in enumerate(_EN_UNITS)}
    out |= {f"digits/{10 * i + 20}": word for i, word in enumerate(_EN_TENS)}
    out |= {f"ordinals/{i + 1}": word for i, word in enumerate(_EN_ORD_UNITS)}
    out |= {f"ordinals/{10 * i + 20}": word for i, word in enumerate(_EN_ORD_TENS)}
    for word in ("hundred", "thousand", "million", "billion"):
        out[f"digits/{word}"] = word
        out[f"ordinals/{word}"] = f"{word}th"
    out |= {f"months/{m}": m.capitalize() for m in MONTHS}
    out |= {f"weekdays/{d}": d.capitalize() for d in WEEKDAYS}
    out |= {
        "digits/minus": "minus",
        "digits/oh": "oh",
        "time/am": "A M",
        "time/pm": "P M",
        "time/oclock": "o'clock",
        "time/minute": "minute",
        "time/minutes": "minutes",
        "time/hour": "hour",
        "time/hours": "hours",
        "time/less-than-a-minute": "less than a minute",
        "words/about": "about",
        "words/and": "and",
        "currency/dollar": "dollar",
        "currency/dollars": "dollars",
        "currency/cent": "cent",
        "currency/cents": "cents",
        "currency/euro": "euro",
        "currency/euros": "euros",
        "currency/euro-cent": "cent",
        "currency/euro-cents": "cents",
        "currency/yuan": "yuan",
        "currency/fen": "fen",
        "currency/won": "won",
    }
    return out


_ZH_DIGITS = (
    ("零", "ling2"),
    ("一", "yi1"),
    ("二", "er4"),
    ("三", "san1"),
    ("四", "si4"),
    ("五", "wu3"),
    ("六", "liu4"),
    ("七", "qi1"),
    ("八", "ba1"),
    ("九", "jiu3"),
)
_ZH_MONTHS = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二"]
_ZH_WEEKDAYS = ["一", "二", "三", "四", "五", "六", "天"]


def _pinyin_of(hanzi: str) -> str:
    table = {h: p for h, p in _ZH_DIGITS} | {"十": "shi2", "天": "tian1"}
    return " ".join(table[ch] for ch in hanzi)


def _chinese() -> dict[str, tuple[str, str]]:
    out = {f"digits/{i}": pair for i, pair in enumerate(_ZH_DIGITS)}
    out |= {
        "digits/10": ("十", "shi2"),
        "digits/liang": ("两", "liang3"),
        "digits/hundred": ("百", "bai3"),
        "digits/thousand": ("千", "qian1"),
        "digits/ten-thousand": ("万", "wan4"),
        "digits/hundred-million": ("亿", "yi4"),
        "digits/minus": ("负", "fu4"),
        "ordinals/prefix": ("第", "di4"),
        "dates/year": ("年", "nian2"),
        "dates/day": ("日", "ri4"),
        "time/am": ("上午", "shang4 wu3"),
        "time/pm": ("下午", "xia4 wu3"),
        "time/oclock": ("点", "dian3"),
        "time/minute-mark": ("分", "fen1"),
        "time/minutes": ("分钟", "fen1 zhong1"),
        "time/hour": ("小时", "xiao3 shi2"),
        "time/less-than-a-minute": ("不到一分钟", "bu2 dao4 yi4 fen1 zhong1"),
        "words/about": ("大约", "da4 yue1"),
        "currency/dollar": ("美元", "mei3 yuan2"),
        "currency/cent": ("美分", "mei3 fen1"),
        "currency/euro": ("欧元", "ou1 yuan2"),
        "currency/euro-cent": ("欧分", "ou1 fen1"),
        "currency/yuan": ("元", "yuan2"),
        "currency/jiao": ("角", "jiao3"),
        "currency/fen": ("分", "fen1"),
        "currency/won": ("韩元", "han2 yuan2"),
    }
    for month, number in zip(MONTHS, _ZH_MONTHS, strict=True):
        out[f"months/{month}"] = (f"{number}月", f"{_pinyin_of(number)} yue4")
    for day, number in zip(WEEKDAYS, _ZH_WEEKDAYS, strict=True):
        out[f"weekdays/{day}"] = (f"星期{number}", f"xing1 qi1 {_pinyin_of(number)}")
    return out


_KO_DIGITS = ["영", "일", "이", "삼", "사", "오", "육", "칠", "팔", "구"]
_KO_MONTHS = [
    "일월",
    "이월",
    "삼월",
    "사월",
    "오월",
    "유월",
    "칠월",
    "팔월",
    "구월",
    "시월",
    "십일월",
    "십이월",
]
_KO_WEEKDAYS = ["월요일", "화요일", "수요일", "목요일", "금요일", "토요일", "일요일"]
_KO_HOURS = ["한", "두", "세", "네", "다섯", "여섯", "일곱", "여덟", "아홉", "열", "열한", "열두"]


def _korean() -> dict[str, str]:
    out = {f"digits/{i}": word for i, word in enumerate(_KO_DIGITS)}
    out |= {f"months/{m}": word for m, word in zip(MONTHS, _KO_MONTHS, strict=True)}
    out |= {f"weekdays/{d}": word for d, word in zip(WEEKDAYS, _KO_WEEKDAYS, strict=True)}
    out |= {f"time/hour-{i + 1}": f"{word} 시" for i, word in enumerate(_KO_HOURS)}
    out |= {
        "digits/10": "십",
        "digits/hundred": "백",
        "digits/thousand": "천",
        "digits/ten-thousand": "만",
        "digits/hundred-million": "억",
        "digits/minus": "마이너스",
        "digits/gong": "공",
        "ordinals/prefix": "제",
        "dates/year": "년",
        "dates/day": "일",
        "time/am": "오전",
        "time/pm": "오후",
        "time/minute-mark": "분",
        "time/minutes": "분",
        "time/less-than-a-minute": "일 분 미만",
        "words/about": "약",
        "currency/dollar": "달러",
        "currency/cent": "센트",
        "currency/euro": "유로",
        "currency/euro-cent": "센트",
        "currency/yuan": "위안",
        "currency/fen": "펀",
        "currency/won": "원",
    }
    return out


def _build() -> dict[Language, dict[str, Entry]]:
    en = {name: Entry(text, text) for name, text in _english().items()}
    zh = {name: Entry(text, speak) for name, (text, speak) in _chinese().items()}
    ko = {name: Entry(text, text) for name, text in _korean().items()}
    for name, (english, (hanzi, pinyin), korean) in _SENTENCES.items():
        en[name] = Entry(english, english)
        zh[name] = Entry(hanzi, pinyin)
        ko[name] = Entry(korean, korean)
    return {Language.EN: en, Language.ZH: zh, Language.KO: ko}


SYSTEM_PROMPTS: Final = _build()
"""Per language, every system prompt name and its text."""

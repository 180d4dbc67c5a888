"""The keypad survey on a scripted call (the IVR tests' fake :class:`CallPort`)."""

from __future__ import annotations

from helpline.prompts.language import Language
from helpline.surveys.runner import (
    PlanQuestion,
    SurveyOutcome,
    SurveyPlan,
    run_keypad_survey,
)
from tests.ivr.fakes import FakePort


class ListRecorder:
    """Keeps what the runner stores."""

    def __init__(self) -> None:
        self.language: str | None = None
        self.answers: list[tuple[str, int, int]] = []
        self.outcome: SurveyOutcome | None = None

    async def start(self, language: str) -> None:
        self.language = language

    async def answer(self, question: PlanQuestion, position: int, value: int) -> None:
        self.answers.append((question.key, position, value))

    async def finish(self, outcome: SurveyOutcome) -> None:
        self.outcome = outcome


def plan(**extra: object) -> SurveyPlan:
    questions = (
        PlanQuestion(
            key="agent",
            texts={"en": "Rate the agent", "zh": "请为客服评分", "ko": "상담원을 평가해 주세요"},
            prompt=None,
            low=1,
            high=5,
        ),
        PlanQuestion(
            key="solved",
            texts={"en": "Was it solved? 1 yes 2 no"},
            prompt="survey/solved",
            low=1,
            high=2,
        ),
    )
    values: dict[str, object] = {
        "tenant_id": 1,
        "survey_id": 1,
        "name": "csat",
        "questions": questions,
        "intro": {"en": "Please stay for a short survey"},
        "timeout_seconds": 4.0,
        "retries": 1,
        **extra,
    }
    return SurveyPlan(**values)  # type: ignore[arg-type]


async def test_caller_rates_each_question_with_one_key() -> None:
    port = FakePort(["4", "1"])
    recorder = ListRecorder()
    outcome = await run_keypad_survey(port, plan(), recorder)
    assert outcome == SurveyOutcome({"agent": 4, "solved": 1}, complete=True, hung_up=False)
    assert recorder.answers == [("agent", 0, 4), ("solved", 1, 1)]
    assert recorder.outcome == outcome and recorder.language == "en"
    assert port.events == [
        "tts en:Please stay for a short survey",
        "tts en:Rate the agent",
        "collect 4",
        "play en:survey/solved",
        "tts en:Was it solved? 1 yes 2 no",
        "collect 1",
        "play en:ivr/thank-you-for-calling",
    ]
    assert port.collects[0] == {"max_digits": 1, "terminator": "", "first_timeout": 4.0}
    assert not port.hung_up


async def test_a_key_out_of_range_or_silence_asks_again_then_skips() -> None:
    port = FakePort(["9", "3", "", "", "2"])
    recorder = ListRecorder()
    outcome = await run_keypad_survey(port, plan(retries=1, intro={}), recorder)
    assert outcome.answers == {"agent": 3}
    assert not outcome.complete and not outcome.hung_up
    assert port.events.count("play en:ivr/invalid-option") == 2
    assert "collect 2" not in port.events
    assert recorder.answers == [("agent", 0, 3)]


async def test_the_caller_hears_the_survey_in_their_language() -> None:
    port = FakePort(["5", "2"], language=Language.KO)
    recorder = ListRecorder()
    await run_keypad_survey(port, plan(thanks={"ko": "감사합니다"}), recorder)
    assert "tts ko:상담원을 평가해 주세요" in port.events
    assert "tts ko:Was it solved? 1 yes 2 no" in port.events
    assert port.events[0] == "tts ko:Please stay for a short survey"
    assert port.events[-1] == "tts ko:감사합니다"
    assert recorder.language == "ko"


async def test_hanging_up_keeps_the_answers_given() -> None:
    port = FakePort(["2"])
    recorder = ListRecorder()
    outcome = await run_keypad_survey(port, plan(), recorder)
    assert outcome == SurveyOutcome({"agent": 2}, complete=False, hung_up=True)
    assert recorder.answers == [("agent", 0, 2)]
    assert recorder.outcome == outcome


async def test_a_missing_recorded_prompt_is_skipped_and_the_text_still_said() -> None:
    port = FakePort(["1", "1"], missing=["survey/solved"])
    outcome = await run_keypad_survey(port, plan(), ListRecorder())
    assert outcome.complete
    assert "play en:survey/solved" not in port.events
    assert "tts en:Was it solved? 1 yes 2 no" in port.events

import pytest

from helpline.media._audioop import audioop
from helpline.media.errors import MediaError
from helpline.media.mixer import Mixer, SupervisionMode, supervise
from helpline.media.tones import silence, tone, tone_level

CALLER_HZ, AGENT_HZ, SUPERVISOR_HZ = 500, 1000, 1500
HEARD = 0.05


def _frames() -> dict[str, bytes]:
    return {
        "caller": tone([CALLER_HZ], 0.02, amplitude=0.2),
        "agent": tone([AGENT_HZ], 0.02, amplitude=0.2),
        "supervisor": tone([SUPERVISOR_HZ], 0.02, amplitude=0.2),
    }


def _hears(pcm: bytes) -> set[str]:
    levels = {"caller": CALLER_HZ, "agent": AGENT_HZ, "supervisor": SUPERVISOR_HZ}
    return {who for who, hz in levels.items() if tone_level(pcm, hz) > HEARD}


def _supervised(mode: SupervisionMode) -> Mixer[str]:
    mixer: Mixer[str] = Mixer()
    for pid in ("caller", "agent", "supervisor"):
        mixer.add(pid)
    supervise(mixer, mode, supervisor="supervisor", caller="caller", agent="agent")
    return mixer


def test_two_party_call_each_hears_the_other_never_itself() -> None:
    mixer: Mixer[str] = Mixer()
    mixer.add("caller")
    mixer.add("agent")
    frames = _frames()
    out = mixer.mix({"caller": frames["caller"], "agent": frames["agent"]})
    assert out["caller"] == frames["agent"]
    assert out["agent"] == frames["caller"]


def test_listen_supervisor_hears_both_and_sends_nothing() -> None:
    out = _supervised(SupervisionMode.LISTEN).mix(_frames())
    assert _hears(out["supervisor"]) == {"caller", "agent"}
    assert _hears(out["caller"]) == {"agent"}
    assert _hears(out["agent"]) == {"caller"}


def test_whisper_reaches_the_agent_and_not_the_caller() -> None:
    out = _supervised(SupervisionMode.WHISPER).mix(_frames())
    assert _hears(out["agent"]) == {"caller", "supervisor"}
    assert _hears(out["caller"]) == {"agent"}
    assert _hears(out["supervisor"]) == {"caller", "agent"}


def test_barge_everyone_hears_everyone_else() -> None:
    out = _supervised(SupervisionMode.BARGE).mix(_frames())
    assert _hears(out["caller"]) == {"agent", "supervisor"}
    assert _hears(out["agent"]) == {"caller", "supervisor"}
    assert _hears(out["supervisor"]) == {"caller", "agent"}


def test_sum_saturates_instead_of_wrapping() -> None:
    mixer: Mixer[str] = Mixer()
    for pid in ("a", "b", "c"):
        mixer.add(pid)
    loud = tone([1000], 0.02, amplitude=0.9)
    out = mixer.mix({"a": loud, "b": loud, "c": silence()})
    assert out["c"] == audioop.add(loud, loud, 2)
    assert audioop.max(out["c"], 2) == 32767 or audioop.minmax(out["c"], 2)[0] == -32768
    assert tone_level(out["c"], 1000) > 0.9


def test_participant_without_a_frame_contributes_nothing() -> None:
    mixer: Mixer[str] = Mixer()
    mixer.add("caller")
    mixer.add("agent")
    out = mixer.mix({"caller": _frames()["caller"]})
    assert out["caller"] == silence()
    assert out["agent"] == _frames()["caller"]


def test_removed_participant_is_no_longer_heard() -> None:
    mixer = _supervised(SupervisionMode.BARGE)
    mixer.remove("supervisor")
    out = mixer.mix({k: v for k, v in _frames().items() if k != "supervisor"})
    assert set(out) == {"caller", "agent"}
    assert _hears(out["agent"]) == {"caller"}


def test_bad_frames_and_ids_raise() -> None:
    mixer: Mixer[str] = Mixer()
    mixer.add("a")
    with pytest.raises(MediaError):
        mixer.add("a")
    with pytest.raises(MediaError):
        mixer.mix({"a": b"\x00" * 10})
    with pytest.raises(MediaError):
        mixer.mix({"zz": silence()})
    with pytest.raises(MediaError):
        mixer.remove("zz")

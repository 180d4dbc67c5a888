import shutil
import wave
from pathlib import Path

import pytest

from helpline.media._audioop import audioop
from helpline.media.errors import MediaError
from helpline.media.tones import dominant_frequency, silence, tone
from helpline.media.wav import HEADER_SIZE, WavWriter, check_wav, interleave, repair_wav

FRAME = tone([1000], 0.02)


def test_closed_mono_file_is_read_back_by_wave(tmp_path: Path) -> None:
    path = tmp_path / "call.wav"
    with WavWriter(path) as writer:
        for _ in range(50):
            writer.write(FRAME)
    info = check_wav(path)
    assert (info.channels, info.sample_width, info.rate, info.frames) == (1, 2, 8000, 8000)
    assert info.duration == 1.0
    with wave.open(str(path), "rb") as reader:
        assert reader.readframes(160) == FRAME
    assert repair_wav(path) is False


def test_header_is_valid_at_each_periodic_update(tmp_path: Path) -> None:
    path = tmp_path / "call.wav"
    writer = WavWriter(path, update_every=0.5)
    for _ in range(25):
        writer.write(FRAME)
    assert check_wav(path).frames == 4000  # updated after 0.5 s of audio, flushed
    writer.close()


def test_crashed_recording_is_repaired_and_playable(tmp_path: Path) -> None:
    path = tmp_path / "call.wav"
    writer = WavWriter(path, update_every=None)
    for _ in range(20):
        writer.write(FRAME)
    writer.update_header()
    for _ in range(30):
        writer.write(FRAME)
    writer.update_header()  # reaches the disk, sizes say 50 frames
    for _ in range(10):
        writer.write(FRAME)
    crashed = tmp_path / "crashed.wav"
    shutil.copyfile(path, crashed)  # the process dies here: no close()
    with crashed.open("ab") as f:  # a half-written sample at the end
        f.write(b"\x01")
    size = crashed.stat().st_size
    assert repair_wav(crashed) is True
    info = check_wav(crashed)
    assert info.frames == (size - 1 - HEADER_SIZE) // 2
    assert info.frames >= 50 * 160
    assert repair_wav(crashed) is False
    writer.close()


def test_recording_that_crashed_before_any_update_is_recovered(tmp_path: Path) -> None:
    path = tmp_path / "call.wav"
    writer = WavWriter(path, update_every=None)
    for _ in range(100):  # 32 kB: more than the file buffer, so some reaches the disk
        writer.write(FRAME)
    crashed = tmp_path / "crashed.wav"
    shutil.copyfile(path, crashed)
    with wave.open(str(crashed), "rb") as reader:
        assert reader.getnframes() == 0
    on_disk = (crashed.stat().st_size - HEADER_SIZE) // 2
    assert repair_wav(crashed) is True
    assert check_wav(crashed).frames == on_disk > 0
    writer.close()


def test_stereo_puts_caller_left_and_agent_right_with_silence_for_missing_side(
    tmp_path: Path,
) -> None:
    path = tmp_path / "stereo.wav"
    caller = tone([500], 0.02)
    agent = tone([1500], 0.02)
    with WavWriter(path, channels=2) as writer:
        writer.write_stereo(caller, agent)
        writer.write_stereo(caller, None)
        writer.write_stereo(None, agent)
    with wave.open(str(path), "rb") as reader:
        assert reader.getnchannels() == 2
        data = reader.readframes(480)
    left = audioop.tomono(data, 2, 1, 0)
    right = audioop.tomono(data, 2, 0, 1)
    assert left == caller + caller + silence()
    assert right == agent + silence() + agent
    assert dominant_frequency(left[:320]) == pytest.approx(500, abs=2)


def test_interleave_pads_the_shorter_side() -> None:
    assert interleave(b"\x01\x00", None) == b"\x01\x00\x00\x00"
    assert interleave(b"\x01\x00\x02\x00", b"\x03\x00") == b"\x01\x00\x03\x00\x02\x00\x00\x00"
    with pytest.raises(MediaError):
        interleave(None, None)


def test_partial_sample_frame_and_closed_writer_raise(tmp_path: Path) -> None:
    writer = WavWriter(tmp_path / "x.wav", channels=2)
    with pytest.raises(MediaError):
        writer.write(b"\x00\x00")
    writer.close()
    writer.close()
    with pytest.raises(MediaError):
        writer.write(FRAME)


def test_repair_refuses_a_file_that_is_not_wav(tmp_path: Path) -> None:
    path = tmp_path / "junk.wav"
    path.write_bytes(b"not a wav file at all")
    with pytest.raises(MediaError):
        repair_wav(path)
    with pytest.raises(MediaError):
        check_wav(path)

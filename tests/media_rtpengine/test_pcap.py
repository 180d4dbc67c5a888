"""rtpengine pcap recordings to stereo WAV: direction by port, placement by timestamp."""

from __future__ import annotations

import struct
import wave
from pathlib import Path

import numpy as np

from helpline.media import g711
from helpline.media.rtpengine.pcap import pcap_to_wav
from helpline.media.tones import tone
from tests.interop.audio import frequency_of

PEER, INNER = 30010, 30020


def _record(time: float, dst: int, pt: int, seq: int, ts: int, ssrc: int, pcm: bytes) -> bytes:
    rtp = struct.pack("!BBHII", 0x80, pt, seq, ts, ssrc) + g711.encode(pcm, pt)
    udp = struct.pack("!HHHH", 40000, dst, 8 + len(rtp), 0) + rtp
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, bytes(4), bytes(4))
    frame = ip + udp
    return struct.pack("<IIII", int(time), round(time % 1 * 1e6), len(frame), len(frame)) + frame


def _pcap(path: Path, records: list[bytes]) -> Path:
    path.write_bytes(
        struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101) + b"".join(records)
    )
    return path


def _frame(hz: int, n: int) -> bytes:
    return tone([hz], 0.02, amplitude=0.3, start_sample=160 * n)


def _channels(path: Path) -> tuple[bytes, bytes]:
    with wave.open(str(path)) as wav:
        stereo = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16).reshape(-1, 2)
    return stereo[:, 0].copy().tobytes(), stereo[:, 1].copy().tobytes()


def test_each_direction_lands_in_its_channel_despite_reordering(tmp_path: Path) -> None:
    t0 = 1000.0
    records = []
    for n in range(100):
        records.append(_record(t0 + n * 0.02, PEER, 0, n, 160 * n, 1, _frame(1000, n)))
        records.append(
            _record(t0 + n * 0.02 + 0.005, INNER, 8, n, 5000 + 160 * n, 2, _frame(2000, n))
        )
        # Another leg of the same rtpengine call: not part of this recording.
        records.append(_record(t0 + n * 0.02, 30030, 0, n, 160 * n, 3, _frame(300, n)))
    records[15], records[18] = records[18], records[15]  # caller packets 5 and 6 swapped
    pcap = _pcap(tmp_path / "c-1.pcap", records)
    wav = tmp_path / "out.wav"
    duration = pcap_to_wav(
        [pcap], wav, left_ports={PEER}, right_ports={INNER}, start=t0, stop=t0 + 10
    )
    assert 1.95 <= duration <= 2.05
    left, right = _channels(wav)
    assert abs(frequency_of(left, skip=0.1) - 1000) < 10
    assert abs(frequency_of(right, skip=0.1) - 2000) < 10
    # Reordered packets are put back in place: the caller channel is a clean tone.
    expected = b"".join(_frame(1000, n) for n in range(100))
    assert (
        np.abs(
            np.frombuffer(left[: len(expected)], np.int16)
            - np.frombuffer(g711.decode(g711.encode(expected, 0), 0), np.int16)
        ).max()
        == 0
    )


def test_a_new_ssrc_starts_where_it_arrives_and_the_window_is_respected(tmp_path: Path) -> None:
    t0 = 2000.0
    records = [_record(t0 + n * 0.02, INNER, 0, n, 160 * n, 7, _frame(500, n)) for n in range(50)]
    # One second of nothing, then another source on the same port with unrelated timestamps.
    records += [
        _record(t0 + 2 + n * 0.02, INNER, 0, n, 99_999 + 160 * n, 8, _frame(2000, n))
        for n in range(50)
    ]
    records.append(_record(t0 + 30, INNER, 0, 1, 1, 9, _frame(300, 0)))  # after stop
    pcap = _pcap(tmp_path / "c-1.pcap", records)
    wav = tmp_path / "out.wav"
    duration = pcap_to_wav(
        [pcap], wav, left_ports={PEER}, right_ports={INNER}, start=t0, stop=t0 + 5
    )
    assert abs(duration - 3.0) < 0.05
    left, right = _channels(wav)
    assert not any(left)
    assert not any(right[2 * 8000 * 1 + 1000 : 2 * 8000 * 2 - 1000])  # the gap stays silent
    assert abs(frequency_of(right[2 * 8000 * 2 :], skip=0.0) - 2000) < 10

"""baresip, a real softphone, against a running Helpline node: registration and media.

baresip 1.0.0 (Debian 12, libre 1.1.0) runs headless inside the test namespace with its own
config directory: a WAV file is its microphone and the ``sndfile`` module dumps what it
receives. Its stdout is read line by line with a deadline; a line such as ``200 OK`` or
``Call ... terminated`` is the event each step waits for.
"""

from __future__ import annotations

import contextlib
import json
import math
import queue
import re
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import threading
import time
import wave
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from helpline.media.tones import dominant_frequency, tone_level
from helpline.prompts.library import SYSTEM_DIR
from tests.interop.audio import correlation, read_wav
from tests.interop.harness import Namespace, Node, helpline

CONFIG_TEMPLATE = Path(__file__).with_name("baresip") / "config"
RATE = 8000
TONE_HZ = 1000
# Not Helpline's 0.25 tone amplitude: the level heard back shows it is our own voice.
TONE_AMPLITUDE = 0.4
MICROPHONE_SECONDS = 6
# Upper bound on a whole baresip run (`timeout` kills it after that).
RUN_LIMIT = 40


@pytest.fixture(scope="module")
def node(ns: Namespace, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    # baresip 1.0.0 (libre 1.1.0) gives up on a 401 as soon as one WWW-Authenticate
    # names an algorithm other than MD5 ("Register: Function not implemented"), even
    # when an MD5 challenge is offered too; so this node offers MD5 only.
    if shutil.which("baresip") is None:
        pytest.fail("baresip is not installed (Debian package baresip); .ci/run installs it")
    with helpline(
        ns, tmp_path_factory.mktemp("node"), HELPLINE_SIP_DIGEST_ALGORITHMS="MD5"
    ) as running:
        yield running


@dataclass
class Baresip:
    """A running baresip whose stdout lines arrive on a queue."""

    proc: subprocess.Popen[str]
    sip_port: int
    console_port: int
    recordings: Path
    lines: queue.Queue[str | None] = field(default_factory=queue.Queue)
    output: list[str] = field(default_factory=list)

    def read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line.rstrip())
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, pattern: str, timeout: float) -> str:
        """The first new stdout line matching ``pattern``, within ``timeout`` seconds."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                break
            if line is None:
                break
            if regex.search(line):
                return line
        raise AssertionError(f"baresip printed no {pattern!r} in {timeout} s:\n{self.tail()}")

    def quit(self) -> int:
        """SIGTERM (baresip then un-registers and closes its SIP stack); the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            raise AssertionError(f"baresip did not exit on SIGTERM:\n{self.tail()}") from None

    def press(self, ns: Namespace, keys: str, *, gap: float = 0.8) -> None:
        """Press and release ``keys`` on the phone's UDP console, ``gap`` seconds apart."""
        code = (
            "import socket, sys, time\n"
            "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            f"for key in {keys!r}:\n"
            f"    s.sendto(key.encode(), ('127.0.0.1', {self.console_port}))\n"
            "    time.sleep(0.2)\n"
            f"    s.sendto(b'\\x04', ('127.0.0.1', {self.console_port}))\n"
            f"    time.sleep({gap})\n"
        )
        result = ns.run([sys.executable, "-c", code], timeout=30)
        assert result.returncode == 0, result.stderr

    def tail(self) -> str:
        return "\n".join(line for line in self.output[-60:] if "audio=" not in line)


@contextlib.contextmanager
def baresip(
    ns: Namespace, workdir: Path, accounts: str, *args: str, rtp_ports: str
) -> Iterator[Baresip]:
    """baresip with its own config directory in ``workdir``, until the block ends."""
    sip_port = ns.free_port() or 5090
    console_port = ns.free_port() or 5555
    config_dir = workdir / "baresip"
    recordings = workdir / "recordings"
    config_dir.mkdir()
    recordings.mkdir()
    config = (
        CONFIG_TEMPLATE.read_text()
        .replace("@SIP_PORT@", str(sip_port))
        .replace("@MICROPHONE@", str(workdir / "microphone.wav"))
        .replace("@RTP_PORTS@", rtp_ports)
        .replace("@RECORDINGS@", str(recordings))
        .replace("@CONSOLE_PORT@", str(console_port))
    )
    (config_dir / "config").write_text(config)
    (config_dir / "accounts").write_text(accounts)
    # --foreground: `timeout` passes our SIGTERM to baresip once. Without it, it signals
    # its process group too, and baresip's second SIGTERM exits at once, before the
    # answer to its un-REGISTER. -s: SIP trace, for the failure messages.
    proc = ns.popen(
        [
            "timeout",
            "--foreground",
            "-k",
            "5",
            str(RUN_LIMIT),
            "baresip",
            "-s",
            "-f",
            str(config_dir),
            *args,
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=workdir,
    )
    phone = Baresip(proc, sip_port, console_port, recordings)
    reader = threading.Thread(target=phone.read, daemon=True)
    reader.start()
    try:
        yield phone
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        reader.join(timeout=10)


def write_tone(path: Path, seconds: float) -> None:
    peak = TONE_AMPLITUDE * 32767
    samples = [
        round(peak * math.sin(2 * math.pi * TONE_HZ * i / RATE)) for i in range(RATE * int(seconds))
    ]
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(struct.pack(f"<{len(samples)}h", *samples))


def bindings(node: Node, username: str) -> list[tuple[str, str]]:
    with contextlib.closing(sqlite3.connect(node.data_dir / "helpline.db")) as db:
        return db.execute(
            "SELECT r.contact, r.transport FROM registrations r JOIN sip_accounts a "
            "ON a.id = r.sip_account_id WHERE a.username = ?",
            (username,),
        ).fetchall()


def test_baresip_registers_with_digest_and_unregisters_on_quit(
    ns: Namespace, node: Node, tmp_path: Path
) -> None:
    write_tone(tmp_path / "microphone.wav", 1)
    accounts = (
        f"<sip:2003@127.0.0.1:{node.sip_port};transport=udp>;auth_user=2003;"
        "auth_pass=demo-sip-pass;regint=600;answermode=manual;audio_codecs=PCMU/8000/1\n"
    )
    with baresip(ns, tmp_path, accounts, rtp_ports="18000-18099") as phone:
        phone.wait_for(r"2003@127\.0\.0\.1: \{0/UDP/v4\} 200 OK .*\[1 binding\]", timeout=15)
        stored = bindings(node, "2003")
        assert len(stored) == 1, stored
        contact, transport = stored[0]
        assert transport == "UDP"
        assert f"@127.0.0.1:{phone.sip_port}" in contact
        # baresip sends REGISTER with Expires 0 and waits for the answer before exiting.
        assert phone.quit() == 0, phone.tail()
    assert bindings(node, "2003") == [], phone.tail()


def test_baresip_hears_its_own_tone_back_from_echo(
    ns: Namespace, node: Node, tmp_path: Path
) -> None:
    write_tone(tmp_path / "microphone.wav", MICROPHONE_SECONDS)
    accounts = "<sip:caller@127.0.0.1;transport=udp>;regint=0;audio_codecs=PCMU/8000/1\n"
    dial = f"/dial sip:echo@127.0.0.1:{node.sip_port}"
    with baresip(ns, tmp_path, accounts, "-e", dial, rtp_ports="18100-18199") as phone:
        phone.wait_for(r"Call established: sip:echo@", timeout=15)
        # The end of the microphone file ends the call: baresip sends BYE.
        phone.wait_for(r"Call with sip:echo@\S+ terminated", timeout=MICROPHONE_SECONDS + 15)
        assert phone.quit() == 0, phone.tail()
    (received,) = phone.recordings.glob("dump-*-dec.wav")
    with wave.open(str(received), "rb") as dump:
        assert (dump.getnchannels(), dump.getsampwidth(), dump.getframerate()) == (1, 2, RATE)
        pcm = dump.readframes(dump.getnframes())
    assert len(pcm) >= 2 * RATE * (MICROPHONE_SECONDS - 1), f"only {len(pcm) // 2} samples"
    # 100 ms windows from 1 s on (past any start-up silence) to a second before the end.
    for second in range(1, MICROPHONE_SECONDS - 1):
        window = pcm[2 * RATE * second : 2 * RATE * second + 2 * RATE // 10]
        assert abs(dominant_frequency(window) - TONE_HZ) <= 10, f"at {second} s"
        level = tone_level(window, TONE_HZ)
        assert TONE_AMPLITUDE * 0.75 <= level <= TONE_AMPLITUDE * 1.25, f"{level} at {second} s"
    health = json.loads(node.http_get("/api/health"))
    assert health["sip"]["calls"] == 0 and health["sip"]["dialogs"] == 0


def test_baresip_dtmf_is_recognized_by_the_prompt_test(
    ns: Namespace, node: Node, tmp_path: Path
) -> None:
    write_tone(tmp_path / "microphone.wav", 20)
    accounts = "<sip:caller@127.0.0.1;transport=udp>;regint=0;audio_codecs=PCMU/8000/1\n"
    dial = f"/dial sip:prompt-test@127.0.0.1:{node.sip_port}"
    with baresip(ns, tmp_path, accounts, "-e", dial, rtp_ports="18200-18299") as phone:
        phone.wait_for(r"Call established: sip:prompt-test@", timeout=15)
        time.sleep(1.5)
        phone.press(ns, "35#")
        time.sleep(3)
        phone.press(ns, "b")  # hang up
        phone.wait_for(r"Call with sip:prompt-test@\S+ terminated", timeout=15)
        assert phone.quit() == 0, phone.tail()
    (received,) = phone.recordings.glob("dump-*-dec.wav")
    _, heard = read_wav(received)
    scores = {
        digit: correlation(heard, read_wav(SYSTEM_DIR / "en" / "digits" / f"{digit}.wav")[1])
        for digit in "357"
    }
    # The keys pressed (RFC 4733 from baresip) were read back; a key not pressed was not.
    assert scores["3"] >= 0.8 and scores["5"] >= 0.8, scores
    assert scores["7"] < 0.6, scores

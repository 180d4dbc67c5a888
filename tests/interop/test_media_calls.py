"""Media through real calls (issue 5): a SIPp caller hears prompts and its DTMF is read
back exactly, by RFC 4733 and by SIP INFO."""

from __future__ import annotations

import json
from pathlib import Path

from helpline.prompts.library import SYSTEM_DIR
from tests.interop.audio import correlation, read_wav, sniff
from tests.interop.harness import Namespace, Node, sipp

CALLER_RTP = 16900


def _prompt(name: str) -> bytes:
    channels, frames = read_wav(SYSTEM_DIR / "en" / f"{name}.wav")
    assert channels == 1
    return frames


def test_prompt_test_plays_the_prompt_and_reads_back_the_digits(
    ns: Namespace, node: Node, workdir: Path
) -> None:
    with sniff(ns, workdir, 30, CALLER_RTP) as captured:
        result = sipp(
            ns,
            node,
            "caller_prompt_test.xml",
            "-s",
            "prompt-test",
            "-mi",
            "127.0.0.1",
            "-mp",
            str(CALLER_RTP),
            "-m",
            "1",
            cwd=workdir,
        )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    heard = captured[0].pcm(CALLER_RTP)
    scores = {
        name: correlation(heard, _prompt(name))
        for name in ("ivr/please-enter", "digits/1", "digits/2", "digits/7", "ivr/goodbye")
    }
    # The prompt, then "one" (RFC 4733) "two" (RFC 4733) read back after "#" (INFO).
    assert scores["ivr/please-enter"] >= 0.9, scores
    assert scores["digits/1"] >= 0.9, scores
    assert scores["digits/2"] >= 0.9, scores
    # A digit never pressed is not heard.
    assert scores["digits/7"] < 0.6, scores
    assert json.loads(node.http_get("/api/health"))["sip"]["calls"] == 0

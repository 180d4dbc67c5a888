"""Fixtures: a real rtpengine on the host loopback (random ports), the hybrid backend
over an in-process embedded engine, and the interop fixtures for SIP calls. Tests
needing rtpengine skip when the binary is missing (Debian package rtpengine-daemon)."""

from __future__ import annotations

import random
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from helpline.media.engine import EngineConfig, MediaEngine
from helpline.media.rtpengine import HybridBackend, create_hybrid

# Shared fixtures: the loopback-only namespace, the tone files SIPp plays, RTP peers.
from tests.interop.conftest import ns  # noqa: F401
from tests.interop.harness import Namespace
from tests.interop.test_b2bua import audio  # noqa: F401
from tests.media_engine.conftest import peers  # noqa: F401
from tests.media_rtpengine.daemon import Rtpengine, available, rtpengine

RTP_TIMEOUT = 2.0


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Rtpengine]:
    if not available():
        pytest.skip("rtpengine is not installed (Debian package rtpengine-daemon)")
    base = random.randrange(30000, 44000, 2)
    host = Namespace(None)
    with rtpengine(
        host,
        tmp_path / "spool",
        ng_port=host.free_port(),
        port_min=base,
        port_max=base + 199,
        dtmf_log_port=host.free_port(socket.SOCK_DGRAM),
    ) as running:
        yield running


@pytest.fixture
async def hybrid(daemon: Rtpengine) -> AsyncIterator[HybridBackend]:
    base = random.randrange(45000, 59000, 2)
    engine = MediaEngine(EngineConfig(port_min=base, port_max=base + 199, rtp_timeout=RTP_TIMEOUT))
    backend = create_hybrid(
        engine,
        daemon.ng,
        recording_dir=daemon.spool,
        rtp_timeout=RTP_TIMEOUT,
        dtmf_log=daemon.dtmf_log,
        node="test-node",
    )
    await backend.start()
    yield backend
    await backend.close()

"""Fixtures of the SMS tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from helpline.runtime import Runtime
from tests.sms.fake_smsc import FakeSmsc
from tests.sms.helpers import Desk, make_desk


@pytest.fixture
async def desk(runtime: Runtime) -> AsyncIterator[Desk]:
    """Tenants ``acme`` (admin, supervisor, agent) and ``other``."""
    made = await make_desk(runtime)
    yield made
    await made.aclose()


@pytest.fixture
async def smsc() -> AsyncIterator[FakeSmsc]:
    """The fake SMSC, listening on a loopback port."""
    fake = FakeSmsc()
    await fake.start()
    yield fake
    await fake.close()

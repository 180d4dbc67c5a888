"""Fixtures of the survey tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from helpline.runtime import Runtime
from tests.sms.helpers import Desk, make_desk


@pytest.fixture
async def desk(runtime: Runtime) -> AsyncIterator[Desk]:
    """Tenants ``acme`` (admin, supervisor, agent) and ``other``."""
    made = await make_desk(runtime)
    yield made
    await made.aclose()

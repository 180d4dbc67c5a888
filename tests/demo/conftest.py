"""A demo runtime whose own HTTP port really serves the app (for the balance lookup).

The listening socket is bound (port 0) and listening before the settings are made, so
the demo flow's HTTP node gets its real port, and connections made before uvicorn has
started wait in the socket's backlog: nothing has to poll for the server to be up.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import text

from helpline.api.app import create_app
from helpline.db.models import Base
from helpline.runtime import Runtime
from helpline.server import prepare
from tests.conftest import make_settings


@pytest.fixture
def http_socket() -> Iterator[socket.socket]:
    """A listening TCP socket on a free loopback port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield sock
    sock.close()


async def _empty(runtime: Runtime) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    async with runtime.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                await conn.execute(text(f"DELETE FROM {table}"))


@pytest.fixture
async def served(
    tmp_path: Path, database_url: str, http_socket: socket.socket
) -> AsyncIterator[Runtime]:
    """A demo runtime on an empty database, its app served by uvicorn on
    ``settings.http_port``."""
    port = http_socket.getsockname()[1]
    runtime = Runtime.build(make_settings(tmp_path, database_url, demo=True, http_port=port))
    await _empty(runtime)
    await prepare(runtime, report=lambda _line: None)
    server = uvicorn.Server(
        uvicorn.Config(create_app(runtime), lifespan="off", log_config=None, access_log=False)
    )
    task = asyncio.create_task(server.serve(sockets=[http_socket]))
    yield runtime
    server.should_exit = True
    await task
    await runtime.close()

"""The HTTP node's request: a back-office lookup (a balance, an order's status).

The URL, headers and JSON body are rendered from the flow's variables
(:mod:`helpline.ivr.templating`; values in the URL are percent-encoded and the host is
always the literal one the document names). Redirects are not followed, the whole
exchange is bounded by the node's ``timeout`` and the answer by ``max_bytes``.
Result variables are read from the JSON answer by dotted paths (``data.balance``,
``items.0.id``); numbers keep their exact text (``12.50`` stays ``12.50``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

import httpx

from helpline.ivr.flow import HttpNode
from helpline.ivr.templating import render, render_json, render_url

MAX_RESPONSE_BYTES: Final = 256 * 1024


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    """What came back: the status and the result variables, or why nothing usable did."""

    status: int | None
    values: dict[str, str] = field(default_factory=dict)
    error: str | None = None


class _TooLarge(Exception):
    pass


def extract(data: Any, path: str) -> Any:
    """The value at the dotted ``path`` in parsed JSON (list items by index), or None."""
    for part in path.split("."):
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


def as_text(value: Any) -> str:
    """A JSON value as a flow variable: "" for null, ``true``/``false``, numbers as
    written, objects and lists as compact JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | Decimal):
        return str(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def _header_value(value: str) -> str:
    return value.replace("\r", " ").replace("\n", " ")


async def _read(response: httpx.Response, max_bytes: int) -> bytes:
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > max_bytes:
            raise _TooLarge
    return bytes(body)


async def perform(
    node: HttpNode,
    variables: Mapping[str, str],
    client: httpx.AsyncClient,
    *,
    max_bytes: int = MAX_RESPONSE_BYTES,
) -> HttpAnswer:
    """Send ``node``'s request with ``client`` and read its result variables."""
    url = render_url(node.url, variables)
    headers = {name: _header_value(render(v, variables)) for name, v in node.headers.items()}
    body = render_json(node.body, variables) if node.body is not None else None
    try:
        async with (
            asyncio.timeout(node.timeout),
            client.stream(
                node.method.value,
                url,
                headers=headers,
                json=body,
                timeout=node.timeout,
                follow_redirects=False,
            ) as response,
        ):
            content = await _read(response, max_bytes)
    except TimeoutError:
        return HttpAnswer(None, error=f"no answer within {node.timeout:g} s")
    except _TooLarge:
        return HttpAnswer(None, error=f"the answer is larger than {max_bytes} bytes")
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        return HttpAnswer(None, error=f"{type(exc).__name__}: {exc}")
    status = response.status_code
    if not node.results:
        return HttpAnswer(status)
    try:
        data = json.loads(content, parse_float=Decimal)
    except ValueError:
        if 200 <= status < 300:
            return HttpAnswer(status, error="the answer is not JSON")
        data = None
    values = {name: as_text(extract(data, path)) for name, path in node.results.items()}
    return HttpAnswer(status, values)

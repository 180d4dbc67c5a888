"""Fetching VoiceXML documents for the interpreter: ``file:`` and ``http(s):`` URLs
within an allow-list, a time limit and a size limit (VoiceXML 2.1 §5.1.6 fetch
properties; a refused or failed fetch is ``error.badfetch``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit
from urllib.request import url2pathname

import httpx

from helpline.vxml.parser import MAX_SOURCE_BYTES


class FetchError(Exception):
    """A document could not be fetched (``error.badfetch``)."""


@dataclass(frozen=True, slots=True)
class Fetched:
    """A fetched document and the URL it came from (the base of its relative URIs)."""

    url: str
    text: str


class Fetcher(Protocol):
    """Fetches VoiceXML documents; ``data`` is a submit's namelist."""

    async def fetch(
        self, url: str, *, method: str = "GET", data: Mapping[str, str] | None = None
    ) -> Fetched:
        """The document at ``url``; raises :class:`FetchError`."""
        ...


class HttpFetcher:
    """Fetches ``file:`` and ``http(s):`` URLs that start with one of ``allowed``
    (each ending in ``/``, e.g. ``file:///srv/vxml/`` or ``http://127.0.0.1:8080/ivr/``),
    within ``timeout`` seconds and ``max_bytes``; redirects are not followed."""

    def __init__(
        self,
        *,
        allowed: Sequence[str],
        timeout: float = 5.0,
        max_bytes: int = MAX_SOURCE_BYTES,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not all(prefix.endswith("/") for prefix in allowed):
            raise ValueError("allowed URL prefixes must end with '/'")
        self.allowed = tuple(allowed)
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.transport = transport

    def _check(self, url: str) -> str:
        parts = urlsplit(url)
        if parts.username or parts.password or "\\" in url or ".." in parts.path.split("/"):
            raise FetchError(f"refused URL {url!r}")
        if not any(url.startswith(prefix) for prefix in self.allowed):
            raise FetchError(f"{url!r} is outside the allowed locations")
        return parts.scheme

    async def fetch(
        self, url: str, *, method: str = "GET", data: Mapping[str, str] | None = None
    ) -> Fetched:
        """The document at ``url``; raises :class:`FetchError`."""
        scheme = self._check(url)
        if scheme == "file":
            path = Path(url2pathname(urlsplit(url).path))
            return Fetched(url, await asyncio.to_thread(self._read, url, path))
        if scheme not in ("http", "https"):
            raise FetchError(f"{url!r}: unsupported scheme")
        return await self._http(url, method, dict(data or {}))

    def _read(self, url: str, path: Path) -> str:
        try:
            with path.open("rb") as file:
                data = file.read(self.max_bytes + 1)
            if len(data) > self.max_bytes:
                raise FetchError(f"{url!r} is larger than {self.max_bytes} bytes")
            return data.decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise FetchError(f"{url!r}: {exc}") from None

    async def _http(self, url: str, method: str, data: dict[str, str]) -> Fetched:
        post = method.upper() == "POST"
        try:
            async with (
                httpx.AsyncClient(timeout=self.timeout, transport=self.transport) as client,
                client.stream(
                    "POST" if post else "GET",
                    url,
                    data=data if post else None,
                    params=None if post else data,
                ) as response,
            ):
                if response.status_code != 200:
                    raise FetchError(f"{url!r}: HTTP {response.status_code}")
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > self.max_bytes:
                        raise FetchError(f"{url!r} is larger than {self.max_bytes} bytes")
                return Fetched(str(response.url), body.decode(response.encoding or "utf-8"))
        except httpx.HTTPError as exc:
            raise FetchError(f"{url!r}: {exc}") from None
        except UnicodeDecodeError as exc:
            raise FetchError(f"{url!r}: {exc}") from None

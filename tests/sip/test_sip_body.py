"""Multipart bodies (RFC 2046 §5.1)."""

from __future__ import annotations

import pytest

from helpline.sip.body import split_multipart
from helpline.sip.errors import SipError

BODY = (
    b"preamble\r\n--b1\r\nContent-Type: text/plain\r\n\r\nHello\r\n--b1\r\n\r\nno headers"
    b"\r\n--b1\r\nContent-Type: application/octet-stream\r\n\r\n\x00\xff\r\n--b1--\r\nepilogue"
)


def test_parts_are_split_with_their_headers() -> None:
    parts = split_multipart(BODY, "b1")
    assert [p.content for p in parts] == [b"Hello", b"no headers", b"\x00\xff"]
    assert [p.content_type.mime for p in parts] == [
        "text/plain", "text/plain", "application/octet-stream"
    ]  # fmt: skip


@pytest.mark.parametrize(
    "body", [b"no boundary here", b"--b1\r\nContent-Type: x\r\n\r\nunterminated", b"--b1junk\r\n"]
)
def test_broken_multipart_is_400(body: bytes) -> None:
    with pytest.raises(SipError):
        split_multipart(body, "b1")

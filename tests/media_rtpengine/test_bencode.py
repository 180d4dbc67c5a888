"""Bencode, the NG protocol's encoding: round trips and malformed input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpline.media.rtpengine.bencode import BencodeError, decode, encode
from helpline.media.rtpengine.ng import NgCodec, NgError

values = st.recursive(
    st.integers() | st.binary(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.binary(max_size=8), inner, max_size=5)
    ),
    max_leaves=30,
)


@given(values)
def test_decode_gives_back_what_encode_wrote(value: object) -> None:
    assert decode(encode(value)) == value  # type: ignore[arg-type]


def test_known_encodings_follow_bep_3() -> None:
    assert encode({"command": "ping"}) == b"d7:command4:pinge"
    assert encode({"b": 1, "a": [-3, "x"]}) == b"d1:ali-3e1:xe1:bi1ee"
    assert encode("漢") == b"3:\xe6\xbc\xa2"


@pytest.mark.parametrize(
    "data",
    [b"", b"i12", b"i-0e", b"i012e", b"ie", b"5:abc", b"l", b"di1ei2ee", b"x", b"i1ei2e", b"d1:a"],
)
def test_malformed_input_is_refused(data: bytes) -> None:
    with pytest.raises(BencodeError):
        decode(data)


def test_booleans_are_refused() -> None:
    with pytest.raises(BencodeError):
        encode(True)


def test_requests_get_distinct_cookies_and_dashed_keys() -> None:
    codec = NgCodec("t")
    first, datagram = codec.request("offer", call_id="c1", from_tag="f")
    second, _ = codec.request("ping")
    assert first != second
    assert datagram == first + b" d7:call-id2:c17:command5:offer8:from-tag1:fe"
    assert NgCodec.response(b"t_1 d6:result4:ponge") == (b"t_1", {"result": b"pong"})
    with pytest.raises(NgError):
        NgCodec.response(b"t_1 li1ee")

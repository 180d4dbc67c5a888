"""Codings, part counts and the parsing of what gateways send back (no I/O)."""

from __future__ import annotations

from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st

from helpline.sms import kannel
from helpline.sms.encoding import (
    ESCAPE,
    GSM_EXTENSION,
    GSM_TABLE,
    encode_info,
    gsm_decode,
    gsm_encode,
    segments,
)
from helpline.sms.models import Coding, MessageStatus
from helpline.sms.schemas import SmppSettings
from helpline.sms.smpp import parse_receipt, read_deliver_sm, submit_pdus
from helpline.sms.transport import Inbound, Outgoing, Report

GSM_CHARS = "".join(c for c in GSM_TABLE if c != "\x1b") + "".join(GSM_EXTENSION)


def test_plain_text_is_gsm_and_the_euro_sign_costs_two_septets() -> None:
    assert encode_info("Hello @ £5").coding is Coding.GSM7
    assert encode_info("€" * 80).units == 160 and encode_info("€" * 80).parts == 1
    assert encode_info("€" * 81).parts == 2


def test_chinese_korean_and_emoji_need_ucs2() -> None:
    for text in ("您好", "안녕하세요", "ok 👍"):
        assert encode_info(text).coding is Coding.UCS2
    assert encode_info("👍").units == 2


def test_part_counts_at_the_limits() -> None:
    assert encode_info("a" * 160).parts == 1
    assert encode_info("a" * 161).parts == 2
    assert encode_info("a" * 306).parts == 2
    assert encode_info("a" * 307).parts == 3
    assert encode_info("가" * 70).parts == 1
    assert encode_info("가" * 71).parts == 2
    assert encode_info("가" * 134).parts == 2
    assert encode_info("가" * 135).parts == 3


def test_a_part_never_ends_between_an_escape_and_its_character() -> None:
    parts = segments("a" * 152 + "€" + "b" * 20, Coding.GSM7)
    assert parts[0][-1] != ESCAPE and len(parts[0]) == 152
    assert gsm_decode(b"".join(parts)) == "a" * 152 + "€" + "b" * 20


def test_a_part_never_ends_inside_a_surrogate_pair() -> None:
    text = "가" * 66 + "😀" + "나" * 10
    parts = segments(text, Coding.UCS2)
    assert len(parts[0]) == 132
    assert "".join(p.decode("utf-16-be") for p in parts) == text


@given(st.text(alphabet=GSM_CHARS, max_size=400))
def test_gsm_text_survives_encoding_splitting_and_decoding(text: str) -> None:
    assert gsm_decode(gsm_encode(text)) == text
    parts = segments(text, Coding.GSM7)
    assert all(len(p) <= 160 for p in parts)
    assert gsm_decode(b"".join(parts)) == text


@given(st.text(max_size=300).filter(lambda t: "\x00" not in t))
def test_any_text_survives_ucs2_splitting(text: str) -> None:
    parts = segments(text, Coding.UCS2)
    assert all(len(p) <= 140 for p in parts)
    assert b"".join(parts).decode("utf-16-be", errors="surrogatepass") == text.encode(
        "utf-16-be", errors="surrogatepass"
    ).decode("utf-16-be", errors="surrogatepass")


def test_kannel_report_types_and_inbound_coding() -> None:
    assert kannel.dlr_outcome(1) is MessageStatus.DELIVERED
    assert kannel.dlr_outcome(2) is MessageStatus.FAILED
    assert kannel.dlr_outcome(16) is MessageStatus.FAILED
    assert kannel.dlr_outcome(8) is MessageStatus.SENT
    assert kannel.dlr_outcome(9) is MessageStatus.DELIVERED
    assert kannel.dlr_outcome(0) is None
    assert kannel.inbound_text(text="?", hex_octets="4F60597D", coding=2) == ("你好", Coding.UCS2)
    assert kannel.inbound_text(text="café", hex_octets="", coding=0) == ("café", Coding.GSM7)


def test_an_smpp_receipt_is_read_from_its_tlvs_or_its_text() -> None:
    text = (
        b"id:abc123 sub:001 dlvrd:000 submit date:2611231200 done date:2611231205"
        b" stat:UNDELIV err:012 text:hello"
    )
    assert parse_receipt(text.decode())["stat"] == "UNDELIV"
    bare = SimpleNamespace(
        esm_class=0x04,
        short_message=text,
        message_payload=None,
        receipted_message_id=None,
        message_state=None,
    )
    assert read_deliver_sm(7, bare) == Report(7, "abc123", MessageStatus.FAILED, "UNDELIV", "012")
    with_tlvs = SimpleNamespace(
        esm_class=0x04,
        short_message=text,
        message_payload=None,
        receipted_message_id=b"xyz",
        message_state=2,
    )
    assert read_deliver_sm(7, with_tlvs) == Report(
        7, "xyz", MessageStatus.DELIVERED, "DELIVRD", "012"
    )


def test_an_smpp_inbound_message_is_decoded_by_its_data_coding() -> None:
    pdu = SimpleNamespace(
        esm_class=0x40,
        short_message=bytes((5, 0, 3, 1, 1, 1)) + "예".encode("utf-16-be"),
        message_payload=None,
        data_coding=8,
        source_addr=b"821012345678",
        source_addr_ton=1,
        destination_addr=b"1588",
    )
    assert read_deliver_sm(3, pdu) == Inbound(3, "+821012345678", "1588", "예", Coding.UCS2)


def test_alphanumeric_senders_and_national_numbers_get_their_type_of_number() -> None:
    settings = SmppSettings(host="127.0.0.1", system_id="x")
    named = Outgoing(1, "+821012345678", "ACME", "hi", Coding.GSM7, "r")
    (pdu,) = submit_pdus(named, settings)
    assert (pdu["source_addr_ton"], pdu["source_addr_npi"], pdu["source_addr"]) == (5, 0, "ACME")
    assert pdu["destination_addr"] == "821012345678"
    short = Outgoing(1, "+821012345678", "1588", "hi", Coding.GSM7, "r")
    assert submit_pdus(short, settings)[0]["source_addr_ton"] == 0

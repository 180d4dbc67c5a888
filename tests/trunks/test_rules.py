"""Pure trunk rules: inbound admission, outbound choice, number rewriting, caller ID."""

from __future__ import annotations

import dataclasses

from helpline.trunks.rules import (
    CallerId,
    CallerIdMode,
    InboundMode,
    TrunkConfig,
    caller_id,
    choose_outbound,
    match_inbound,
    rewrite_number,
)


def trunk(ident: int = 1, **fields: object) -> TrunkConfig:
    base = TrunkConfig(id=ident, tenant_id=1, name=f"trunk-{ident}", host="trunk.invalid")
    return dataclasses.replace(base, **fields)  # type: ignore[arg-type]


def test_source_inside_an_allowlisted_network_selects_the_trunk() -> None:
    provider = trunk(allowed_sources=("192.0.2.0/24",))
    assert match_inbound([provider], "192.0.2.77") is provider
    assert match_inbound([provider], "198.51.100.1") is None


def test_trunk_host_given_as_ip_literal_admits_that_address() -> None:
    by_host = trunk(host="127.0.0.1")
    assert match_inbound([by_host], "127.0.0.1") is by_host
    assert match_inbound([trunk(host="2001:db8::5")], "2001:db8::5") is not None


def test_ipv4_mapped_ipv6_source_matches_an_ipv4_allowlist() -> None:
    provider = trunk(allowed_sources=("192.0.2.10",))
    assert match_inbound([provider], "::ffff:192.0.2.10") is provider


def test_most_specific_allowlist_entry_wins_then_priority() -> None:
    wide = trunk(1, allowed_sources=("10.0.0.0/8",), priority=1)
    narrow = trunk(2, allowed_sources=("10.1.2.0/24",), priority=50)
    same_width = trunk(3, allowed_sources=("10.1.2.0/24",), priority=10)
    assert match_inbound([wide, narrow], "10.1.2.3") is narrow
    assert match_inbound([wide, narrow, same_width], "10.1.2.3") is same_width
    assert match_inbound([wide, narrow], "10.9.9.9") is wide


def test_digest_and_disabled_trunks_never_match_by_address() -> None:
    digest = trunk(1, host="127.0.0.1", inbound_mode=InboundMode.DIGEST)
    disabled = trunk(2, allowed_sources=("127.0.0.0/8",), enabled=False)
    assert match_inbound([digest, disabled], "127.0.0.1") is None


def test_garbage_source_address_matches_nothing() -> None:
    assert match_inbound([trunk(allowed_sources=("0.0.0.0/0",))], "not-an-ip") is None


def test_outbound_orders_by_priority_then_longest_prefix() -> None:
    catch_all = trunk(1, priority=100)
    mobile = trunk(2, prefixes=("+99955",), priority=10)
    local = trunk(3, prefixes=("+999", "+99955501"), priority=10)
    disabled = trunk(4, priority=1, enabled=False)
    other = trunk(5, prefixes=("+1",), priority=0)
    chosen = choose_outbound([catch_all, mobile, local, disabled, other], "+99955501")
    assert chosen == [local, mobile, catch_all]


def test_outbound_with_no_matching_prefix_and_no_catch_all_is_empty() -> None:
    assert choose_outbound([trunk(prefixes=("00",))], "+99955501") == []


def test_number_is_stripped_then_prepended() -> None:
    assert rewrite_number(trunk(strip_digits=1, prepend="00"), "+99955501") == "0099955501"
    assert rewrite_number(trunk(), "+99955501") == "+99955501"
    assert rewrite_number(trunk(strip_digits=40, prepend="+"), "123") == "+"


def test_account_mode_prefers_the_callers_own_identity() -> None:
    t = trunk(caller_id_number="+99955500", caller_id_name="Helpdesk")
    assert caller_id(t, "+99955501", "Alice") == CallerId("+99955501", "Alice")
    assert caller_id(t, None, None) == CallerId("+99955500", "Helpdesk")


def test_fixed_mode_always_presents_the_trunk_identity() -> None:
    t = trunk(
        caller_id_mode=CallerIdMode.FIXED, caller_id_number="+99955500", caller_id_name="Desk"
    )
    assert caller_id(t, "+99955501", "Alice") == CallerId("+99955500", "Desk")


def test_anonymous_trunk_withholds_identity_with_privacy_id() -> None:
    cid = caller_id(trunk(anonymous=True, caller_id_number="+99955500"), "+99955501", "Alice")
    assert cid.anonymous and cid.number == "+99955501"
    assert (cid.from_user, cid.from_name, cid.privacy) == ("anonymous", "Anonymous", "id")
    shown = caller_id(trunk(), "+99955501", "Alice")
    assert (shown.from_user, shown.from_name, shown.privacy) == ("+99955501", "Alice", None)


def test_password_is_left_out_of_the_repr() -> None:
    assert "s3cret" not in repr(trunk(password="s3cret"))

"""API shapes for SIP trunks; the password is write-only (``has_password`` shows it is set).

Every field is checked here, so a bad trunk gets a 422 ``validation_error`` naming the
field: host names per RFC 1123 or IP literals, allowlist entries parsed with
:mod:`ipaddress`, dialed-number prefixes and caller-ID numbers as digits with an
optional leading ``+``.  Rules spanning several fields (an allowlist trunk must admit
somebody, registering needs credentials ...) are checked by the service on the whole
trunk, also after a partial update.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from helpline.trunks.rules import CallerIdMode, InboundMode, Transport, ip_literal

MAX_LIST = 100
_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _host(value: str) -> str:
    address = ip_literal(value)
    if address is not None:
        return str(address)
    labels = value.rstrip(".").split(".")
    if len(value) > 253 or not all(_HOST_LABEL.fullmatch(label) for label in labels):
        raise ValueError(f"{value!r} is neither a host name nor an IP address")
    return value.rstrip(".").lower()


def _source(value: str) -> str:
    address = ip_literal(value)
    if address is not None:
        return str(address)
    try:
        return str(ipaddress.ip_network(value.strip(), strict=True))
    except ValueError as exc:
        raise ValueError(f"{value!r} is not an IP address or CIDR network: {exc}") from None


def _sources(values: list[str]) -> list[str]:
    return list(dict.fromkeys(_source(v) for v in values))


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _printable(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("control characters are not allowed")
    return value


Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")]
Host = Annotated[str, Field(min_length=1, max_length=255), AfterValidator(_host)]
Port = Annotated[int, Field(ge=1, le=65535)]
Sources = Annotated[list[str], Field(max_length=MAX_LIST), AfterValidator(_sources)]
SipUser = Annotated[str, Field(pattern=r"^[A-Za-z0-9._~!$&'()*+,=@%-]{1,100}$")]
Password = Annotated[str, Field(max_length=200), AfterValidator(_printable)]
Realm = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_printable)]
Expires = Annotated[int, Field(ge=60, le=86400)]
Prefix = Annotated[str, Field(pattern=r"^\+?[0-9*#]{1,32}$")]
Prefixes = Annotated[list[Prefix], Field(max_length=MAX_LIST), AfterValidator(_unique)]
Strip = Annotated[int, Field(ge=0, le=32)]
Prepend = Annotated[str, Field(pattern=r"^\+?[0-9]{0,31}$")]
Priority = Annotated[int, Field(ge=0, le=10000)]
Number = Annotated[str, Field(pattern=r"^\+?[0-9]{1,20}$")]
DisplayName = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_printable)]
Channels = Annotated[int, Field(ge=1, le=10000)]


class TrunkCreate(BaseModel):
    """A new trunk of the principal's tenant."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    enabled: bool = True
    host: Host
    port: Port = 5060
    transport: Transport = Transport.UDP
    inbound_mode: InboundMode = InboundMode.ALLOWLIST
    allowed_sources: Sources = Field(default_factory=list)
    username: SipUser | None = None
    password: Password | None = Field(default=None, description="Write-only.")
    auth_realm: Realm | None = None
    register_enabled: bool = False
    register_expires: Expires = 3600
    from_domain: Host | None = None
    prefixes: Prefixes = Field(default_factory=list)
    strip_digits: Strip = 0
    prepend: Prepend = ""
    priority: Priority = 100
    caller_id_mode: CallerIdMode = CallerIdMode.ACCOUNT
    caller_id_number: Number | None = None
    caller_id_name: DisplayName | None = None
    anonymous: bool = False
    max_channels: Channels | None = None


class TrunkUpdate(BaseModel):
    """Changes to a trunk; omitted fields stay.

    ``null`` clears the optional fields (username, realm, from domain, caller ID,
    channel limit); a ``null`` or omitted password keeps it and ``""`` removes it.
    """

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    enabled: bool | None = None
    host: Host | None = None
    port: Port | None = None
    transport: Transport | None = None
    inbound_mode: InboundMode | None = None
    allowed_sources: Sources | None = None
    username: SipUser | None = None
    password: Password | None = Field(default=None, description="Write-only.")
    auth_realm: Realm | None = None
    register_enabled: bool | None = None
    register_expires: Expires | None = None
    from_domain: Host | None = None
    prefixes: Prefixes | None = None
    strip_digits: Strip | None = None
    prepend: Prepend | None = None
    priority: Priority | None = None
    caller_id_mode: CallerIdMode | None = None
    caller_id_number: Number | None = None
    caller_id_name: DisplayName | None = None
    anonymous: bool | None = None
    max_channels: Channels | None = None


#: Fields of :class:`TrunkUpdate` that an explicit ``null`` clears.
NULLABLE = (
    "username",
    "auth_realm",
    "from_domain",
    "caller_id_number",
    "caller_id_name",
    "max_channels",
)


class TrunkOut(BaseModel):
    """A trunk as the API shows it (never its password)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    enabled: bool
    host: str
    port: int
    transport: Transport
    inbound_mode: InboundMode
    allowed_sources: list[str]
    username: str | None
    has_password: bool
    auth_realm: str | None
    register_enabled: bool
    register_expires: int
    from_domain: str | None
    prefixes: list[str]
    strip_digits: int
    prepend: str
    priority: int
    caller_id_mode: CallerIdMode
    caller_id_number: str | None
    caller_id_name: str | None
    anonymous: bool
    max_channels: int | None
    created_at: datetime
    updated_at: datetime

"""SIP protocol errors that carry the status code they imply.

Theory of operation: every parse or validation failure in the sans-IO SIP core raises
(or returns) a :class:`SipError`.  The error names the final response a server would
send for a broken request (RFC 3261 §21: 400, 413, 414, 416, 420, 481, 482, 491, 505,
513 ...).  For a broken *response* no answer is ever sent (RFC 3261 §18.1.2 / RFC 4475
§3.1.2.5): the error is then flagged ``is_response`` and the caller drops the message.
When the header section of a broken request could be read, ``request_headers`` keeps it
so that :func:`helpline.sip.message.make_error_response` can still answer (§8.2.6).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from helpline.sip.headers import Header

__all__ = ["REASON_PHRASES", "SipError", "reason_phrase"]

REASON_PHRASES: dict[int, str] = {
    100: "Trying",
    180: "Ringing",
    181: "Call Is Being Forwarded",
    182: "Queued",
    183: "Session Progress",
    199: "Early Dialog Terminated",
    200: "OK",
    202: "Accepted",
    204: "No Notification",
    300: "Multiple Choices",
    301: "Moved Permanently",
    302: "Moved Temporarily",
    305: "Use Proxy",
    380: "Alternative Service",
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    410: "Gone",
    412: "Conditional Request Failed",
    413: "Request Entity Too Large",
    414: "Request-URI Too Long",
    415: "Unsupported Media Type",
    416: "Unsupported URI Scheme",
    417: "Unknown Resource-Priority",
    420: "Bad Extension",
    421: "Extension Required",
    422: "Session Interval Too Small",
    423: "Interval Too Brief",
    428: "Use Identity Header",
    429: "Provide Referrer Identity",
    433: "Anonymity Disallowed",
    436: "Bad Identity-Info",
    437: "Unsupported Certificate",
    438: "Invalid Identity Header",
    439: "First Hop Lacks Outbound Support",
    440: "Max-Breadth Exceeded",
    469: "Bad Info Package",
    470: "Consent Needed",
    480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist",
    482: "Loop Detected",
    483: "Too Many Hops",
    484: "Address Incomplete",
    485: "Ambiguous",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    489: "Bad Event",
    491: "Request Pending",
    493: "Undecipherable",
    494: "Security Agreement Required",
    500: "Server Internal Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Server Time-out",
    505: "Version Not Supported",
    513: "Message Too Large",
    555: "Push Notification Service Not Supported",
    580: "Precondition Failure",
    600: "Busy Everywhere",
    603: "Decline",
    604: "Does Not Exist Anywhere",
    606: "Not Acceptable",
    607: "Unwanted",
    608: "Rejected",
}

_CLASS_PHRASES = {1: "Provisional", 2: "Success", 3: "Redirection", 4: "Client Error"}


def reason_phrase(status: int) -> str:
    """Return the RFC default reason phrase for ``status`` (a generic one if unknown)."""
    phrase = REASON_PHRASES.get(status)
    if phrase is not None:
        return phrase
    return _CLASS_PHRASES.get(status // 100, "Server Error" if status < 600 else "Global Error")


class SipError(Exception):
    """A SIP message is malformed or must be refused with ``status``.

    ``is_response`` is true when the offending message was a response: such a message
    is silently dropped, never answered.  ``request_headers`` holds the header fields
    of a broken request when they could be read (empty otherwise).
    """

    def __init__(
        self,
        status: int = 400,
        detail: str = "",
        *,
        reason: str | None = None,
        is_response: bool = False,
        request_headers: tuple[Header, ...] = (),
    ) -> None:
        self.status = status
        self.reason = reason if reason is not None else reason_phrase(status)
        self.detail = detail
        self.is_response = is_response
        self.request_headers = request_headers
        super().__init__(f"{status} {self.reason}" + (f": {detail}" if detail else ""))

    @property
    def drop(self) -> bool:
        """True when the message must be discarded without any answer."""
        return self.is_response

    def as_response_error(self) -> SipError:
        """Return a copy of this error flagged as coming from a response (to be dropped)."""
        return SipError(self.status, self.detail, reason=self.reason, is_response=True)

    def with_request_headers(self, headers: tuple[Header, ...]) -> SipError:
        """Return a copy of this error that keeps the broken request's header fields."""
        return SipError(
            self.status,
            self.detail,
            reason=self.reason,
            is_response=self.is_response,
            request_headers=headers,
        )

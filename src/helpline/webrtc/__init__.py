"""The WebRTC media gateway: browsers' ICE + DTLS-SRTP audio to plain RTP and back.

:mod:`helpline.webrtc.sdp` and :mod:`helpline.webrtc.audio` are pure (SDP recognition
and rewriting, G.711 RTP <-> PCM frames); :mod:`helpline.webrtc.gateway` drives aiortc
and is imported only where a gateway is made, so loading this package stays cheap.
"""

from helpline.webrtc.errors import WebRtcError
from helpline.webrtc.sdp import is_browser_transport, is_webrtc, is_webrtc_body

__all__ = ["WebRtcError", "is_browser_transport", "is_webrtc", "is_webrtc_body"]

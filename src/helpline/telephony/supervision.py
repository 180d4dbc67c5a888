"""Supervisors listening to, whispering to or barging into agents' calls from a phone.

Theory of operation: a supervisor dials a feature code and the agent's extension —
``*45`` listen, ``*46`` whisper, ``*47`` barge, e.g. ``*462001`` — authenticates with
the digest credentials of a SIP account whose user is a supervisor or an administrator
of the tenant, and joins the agent's call. The agent's call moves from a two-party
bridge into a conference on the same media worker, with the masks of
:func:`helpline.media.backend.supervision_masks`: listen hears both and is heard by no
one, whisper is heard by the agent only, barge by both. During the call the supervisor
switches mode with the keys ``4`` (listen), ``5`` (whisper) and ``6`` (barge).
Supervisors of the agent's team also join, take the call over (intercept) or end it
through the API (:mod:`helpline.telephony.commands`): their own phone is rung first.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from helpline.media.backend import EndpointId, ParticipantMask
from helpline.media.mixer import SupervisionMode

FEATURE_CODES = {
    "*45": SupervisionMode.LISTEN,
    "*46": SupervisionMode.WHISPER,
    "*47": SupervisionMode.BARGE,
}
KEYS = {"4": SupervisionMode.LISTEN, "5": SupervisionMode.WHISPER, "6": SupervisionMode.BARGE}


def parse_feature(user: str) -> tuple[SupervisionMode, str] | None:
    """(mode, extension) for a dialed ``*45<ext>``/``*46<ext>``/``*47<ext>``, else None."""
    mode = FEATURE_CODES.get(user[:3])
    extension = user[3:]
    if mode is None or not extension:
        return None
    return mode, extension


def masks(
    caller: EndpointId,
    agent: EndpointId,
    supervisors: Mapping[EndpointId, SupervisionMode],
    *,
    others: Collection[EndpointId] = (),
    held: bool = False,
) -> dict[EndpointId, ParticipantMask]:
    """Who hears whom in a supervised call or a conference, for any number of
    supervisors.

    The caller hears the agent, the conference's ``others`` (a three-way call's third
    party) and barging supervisors; the agent hears the caller, the others and
    whispering or barging supervisors; each other party hears everyone but listening
    and whispering supervisors; a supervisor hears the parties, and is heard unless
    listening. A ``held`` caller is heard by no one (it hears its music on hold). With
    one supervisor this is :func:`helpline.media.backend.supervision_masks`.
    """
    barging = {s for s, mode in supervisors.items() if mode is SupervisionMode.BARGE}
    talking = {s for s, mode in supervisors.items() if mode is not SupervisionMode.LISTEN}
    parties = frozenset({caller, agent, *others})
    out = {
        caller: ParticipantMask(not held, frozenset({agent, *others} | barging)),
        agent: ParticipantMask(True, frozenset({caller, *others} | talking)),
    }
    for other in others:
        out[other] = ParticipantMask(True, (parties - {other}) | barging)
    for supervisor, mode in supervisors.items():
        out[supervisor] = ParticipantMask(mode is not SupervisionMode.LISTEN, parties)
    return out

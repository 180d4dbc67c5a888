"""Built-in services installers use to check a phone or a trunk.

* ``echo`` (also ``*43``): the caller hears their own voice (the endpoint bridged with
  itself); checks both audio directions and the delay.
* ``prompt-test`` (also ``*44``): plays "please enter", reads the digits pressed (RFC
  4733 or SIP INFO) up to ``#`` back one by one in the tenant's language, and again,
  until the caller hangs up or ``PROMPT_TEST_ROUNDS`` rounds are done; then "goodbye".
  It checks that prompts are heard and that DTMF arrives exactly.
* ``ring``: rings until the caller cancels (ringback and CANCEL checks).
"""

from __future__ import annotations

from enum import Enum

from helpline.media.backend import SilenceSource
from helpline.prompts.say import say_digits
from helpline.telephony.channel import Channel

PROMPT_TEST_ROUNDS = 5
MAX_TEST_DIGITS = 20


class Builtin(Enum):
    """The built-in extensions."""

    ECHO = "echo"
    RING = "ring"
    PROMPT_TEST = "prompt-test"


ALIASES = {
    "echo": Builtin.ECHO,
    "*43": Builtin.ECHO,
    "ring": Builtin.RING,
    "prompt-test": Builtin.PROMPT_TEST,
    "*44": Builtin.PROMPT_TEST,
}


async def prompt_test(channel: Channel) -> None:
    """Play a prompt, read the digits back, a few times; then goodbye and hang up."""
    for _ in range(PROMPT_TEST_ROUNDS):
        await channel.play(channel.prompts(["ivr/please-enter"]), interruptible=True)
        digits = await channel.collect(max_digits=MAX_TEST_DIGITS)
        spoken = "".join(d for d in digits if d.isdigit())
        if spoken:
            await channel.play(
                [SilenceSource(0.3), *channel.prompts(say_digits(spoken, channel.language))]
            )
    await channel.play(channel.prompts(["ivr/goodbye"]))
    channel.hang_up()

"""Queues' music on hold: the ``default`` class, or a prompt of the tenant played looped.

A queue's ``music_on_hold`` names either the system class ``default`` (defined when the
SIP service starts) or a prompt (a tenant prompt, else a system one, in the tenant's
language with the usual fallbacks of :class:`~helpline.prompts.library.PromptLibrary`).
A prompt becomes a media class of its own the first time a caller needs it, and is
defined again when its file changes (a new upload), so listeners move to the new audio.
"""

from __future__ import annotations

import logging

from helpline.media.backend import MediaBackend, WavSource
from helpline.prompts.language import Language
from helpline.prompts.library import PromptLibrary

log = logging.getLogger(__name__)

DEFAULT_MOH = "default"


class MusicClasses:
    """Media music-on-hold classes for the names queues give."""

    def __init__(self, media: MediaBackend, library: PromptLibrary) -> None:
        self.media = media
        self.library = library
        self._defined: dict[str, tuple[str, int]] = {}

    async def resolve(self, tenant_id: int, locale: str, music: str) -> str:
        """The class to attach for ``music`` (``default`` when no such prompt exists)."""
        if music == DEFAULT_MOH:
            return DEFAULT_MOH
        try:
            language = Language(locale)
        except ValueError:
            language = Language.EN
        try:
            path = self.library.find(music, language, tenant_id=tenant_id)
        except ValueError:
            path = None
        if path is None:
            log.warning("tenant %d: no prompt %r for music on hold", tenant_id, music)
            return DEFAULT_MOH
        name = f"t{tenant_id}.{language.value}.{music}"
        version = (str(path), path.stat().st_mtime_ns)
        if self._defined.get(name) != version:
            await self.media.define_moh(name, [WavSource(str(path))])
            self._defined[name] = version
        return name

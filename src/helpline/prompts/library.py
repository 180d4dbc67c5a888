"""Where the audio of a prompt name lives, for a tenant and a language.

Lookup order: the tenant's own prompt in the language, the system prompt in the language,
the tenant's English prompt, the system English prompt, then the language-independent
system prompts (``beep``, ``moh/default``). Tenant prompts are files at a fixed place
(``<data_dir>/prompts/<tenant_id>/<language>/<name>.wav``, written by
:mod:`helpline.prompts.service`), so resolving a name needs no database query.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from helpline.core.errors import NotFound
from helpline.prompts.language import FALLBACK, Language, valid_name

SYSTEM_DIR: Final = Path(__file__).with_name("system")
COMMON_DIR: Final = "common"


class PromptNotFound(NotFound):
    """No file for a prompt name in any place the lookup tries."""

    error_id = "prompt_not_found"


def tenant_prompts_dir(data_dir: Path, tenant_id: int) -> Path:
    """The directory of one tenant's prompt files."""
    return data_dir / "prompts" / str(tenant_id)


def tenant_prompt_path(data_dir: Path, tenant_id: int, language: Language, name: str) -> Path:
    """The file of a tenant's prompt ``name`` in ``language``."""
    if not valid_name(name):
        raise ValueError(f"invalid prompt name {name!r}")
    return tenant_prompts_dir(data_dir, tenant_id) / language.value / f"{name}.wav"


@dataclass(frozen=True, slots=True)
class PromptLibrary:
    """Resolves prompt names to files; ``data_dir`` enables tenant prompts."""

    data_dir: Path | None = None
    system_dir: Path = SYSTEM_DIR

    def candidates(self, name: str, language: Language, tenant_id: int | None) -> list[Path]:
        """Every path tried for ``name``, in order."""
        if not valid_name(name):
            raise ValueError(f"invalid prompt name {name!r}")
        languages = [language] if language is FALLBACK else [language, FALLBACK]
        out: list[Path] = []
        for lang in languages:
            if self.data_dir is not None and tenant_id is not None:
                out.append(tenant_prompt_path(self.data_dir, tenant_id, lang, name))
            out.append(self.system_dir / lang.value / f"{name}.wav")
        out.append(self.system_dir / COMMON_DIR / f"{name}.wav")
        return out

    def find(self, name: str, language: Language, *, tenant_id: int | None = None) -> Path | None:
        """The file to play for ``name``, or None when there is none."""
        for path in self.candidates(name, language, tenant_id):
            if path.is_file():
                return path
        return None

    def resolve(self, name: str, language: Language, *, tenant_id: int | None = None) -> Path:
        """The file to play for ``name``; :class:`PromptNotFound` when there is none."""
        path = self.find(name, language, tenant_id=tenant_id)
        if path is None:
            raise PromptNotFound(
                f"no prompt {name!r} in {language.value}",
                details={"name": name, "language": language.value},
            )
        return path

    def resolve_all(
        self, names: Iterable[str], language: Language, *, tenant_id: int | None = None
    ) -> list[Path]:
        """The files for a sequence of names (what :mod:`helpline.prompts.say` returns)."""
        return [self.resolve(name, language, tenant_id=tenant_id) for name in names]

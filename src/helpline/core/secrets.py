"""Secrets at rest: the passwords Helpline itself logs in with, encrypted by a server key.

Theory of operation: a trunk's, a tenant SMTP server's and an SMS gateway's password
must stay reversible (Helpline answers digest challenges and logs in with them), so they
are not hashed but encrypted with Fernet (AES-128-CBC and HMAC-SHA256, from the
``cryptography`` package) under the server's key. The key is ``HELPLINE_SECRET_KEY``
(one or more comma-separated Fernet keys: the first encrypts, every one decrypts, so
a key can be rotated) or, when that is unset, a key generated once into
``DATA_DIR/secret.key`` (mode 0600), which keeps the embedded default working with no
setup. Nodes sharing a database must share the key: set ``HELPLINE_SECRET_KEY`` on every
node.

:class:`EncryptedString` is the column type: it encrypts on the way into the database
and decrypts on the way out, so call sites keep reading and writing clear text. The
type finds its :class:`Keyring` through the engine's dialect (:func:`bind`, done by
:meth:`helpline.runtime.Runtime.build`), so several runtimes in one process each use
their own key. The empty string stays empty (it means "no password", which the API
shows anyway). A stored value the key cannot decrypt (a wrong or missing key, a row
written in clear behind Helpline's back) is read as ``""`` after one error in the log,
and counted for the health endpoint (:meth:`Keyring.status`): the node keeps running
and the trunk or gateway fails visibly to log in, rather than the node crash-looping.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)

#: The generated key's file inside the data directory.
KEY_FILE = "secret.key"
#: How to make a key for ``HELPLINE_SECRET_KEY``.
KEY_HINT = (
    'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)


class SecretKeyError(ValueError):
    """The configured or stored key is not usable (raised at startup, never later)."""


class SecretsUnavailable(RuntimeError):
    """An encrypted column was used on an engine no keyring was bound to."""


def parse_keys(text: str) -> list[Fernet]:
    """The Fernet keys of a comma-separated list (first: the one that encrypts)."""
    keys: list[Fernet] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            keys.append(Fernet(part.encode()))
        except ValueError as exc:
            raise SecretKeyError(
                f"HELPLINE_SECRET_KEY holds a value that is not a Fernet key "
                f"(32 url-safe base64 bytes); make one with: {KEY_HINT}"
            ) from exc
    if not keys:
        raise SecretKeyError(f"HELPLINE_SECRET_KEY is empty; make a key with: {KEY_HINT}")
    return keys


def _key_file(data_dir: Path) -> bytes:
    """The data directory's key, generated on first use (mode 0600, never replaced).

    The key is written to a private temporary file first and then linked to its name,
    so a node starting at the same moment reads either nothing or the whole key."""
    path = data_dir / KEY_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        draft = data_dir / f".{KEY_FILE}.{os.getpid()}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(Fernet.generate_key() + b"\n")
        try:
            os.link(draft, path)
            log.info("generated the secret key %s (nodes sharing a database need one)", path)
        except FileExistsError:
            pass  # another process made it first; use theirs
        finally:
            draft.unlink()
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("%s is readable by others (mode %o); chmod 600 it", path, mode)
    return path.read_bytes().strip()


@dataclass(slots=True)
class Keyring:
    """The server's keys, and what went wrong decrypting since the process started."""

    fernet: MultiFernet
    """Every key; the first encrypts."""
    source: str
    """``environment`` (``HELPLINE_SECRET_KEY``) or the key file's path."""
    failed: dict[str, str] = field(default_factory=dict)
    """Digest of each value that could not be decrypted -> the column it was in."""
    last_failure_at: datetime | None = None

    @classmethod
    def load(cls, *, secret_key: str | None, data_dir: Path) -> Keyring:
        """The keys from ``secret_key`` when given, else from (or into) the data dir."""
        if secret_key:
            return cls(MultiFernet(parse_keys(secret_key)), "environment")
        path = data_dir / KEY_FILE
        try:
            return cls(MultiFernet(parse_keys(_key_file(data_dir).decode())), str(path))
        except (SecretKeyError, UnicodeDecodeError) as exc:
            raise SecretKeyError(
                f"{path} does not hold a Fernet key (32 url-safe base64 bytes)"
            ) from exc

    def encrypt(self, clear: str) -> str:
        """The Fernet token of ``clear`` under the first key."""
        return self.fernet.encrypt(clear.encode()).decode("ascii")

    def decrypt(self, token: str) -> str:
        """The clear text of ``token``; raises ``InvalidToken`` if no key opens it."""
        return self.fernet.decrypt(token.encode()).decode()

    def read(self, token: str, *, what: str) -> str:
        """``token`` decrypted, or ``""`` after logging (once per value) why not."""
        try:
            return self.decrypt(token)
        except (InvalidToken, UnicodeError):
            digest = hashlib.sha256(token.encode()).hexdigest()
            if digest not in self.failed:
                log.error(
                    "cannot decrypt a stored %s with the secret key from %s: the key is "
                    "wrong or missing (every node needs the same HELPLINE_SECRET_KEY); "
                    "it is used as empty until the key is fixed or the secret set again",
                    what,
                    self.source,
                )
            self.failed[digest] = what
            self.last_failure_at = datetime.now(UTC)
            return ""

    def status(self) -> dict[str, object]:
        """A JSON-ready description for the health endpoint."""
        body: dict[str, object] = {
            "ok": not self.failed,
            "key": "environment" if self.source == "environment" else "data_dir",
        }
        if self.failed:
            body["undecryptable"] = len(self.failed)
            body["columns"] = sorted(set(self.failed.values()))
            body["last_failure_at"] = (
                self.last_failure_at.isoformat() if self.last_failure_at else None
            )
            body["error"] = "stored secrets cannot be decrypted: wrong or missing secret key"
        return body


_BOUND: WeakKeyDictionary[Dialect, Keyring] = WeakKeyDictionary()


def bind(dialect: Dialect, keyring: Keyring) -> None:
    """Make the encrypted columns of connections with ``dialect`` (one engine's) use
    ``keyring``."""
    _BOUND[dialect] = keyring


def keyring_for(dialect: Dialect) -> Keyring | None:
    """The keyring bound to ``dialect``, if any."""
    return _BOUND.get(dialect)


def _bound(dialect: Dialect) -> Keyring:
    keyring = _BOUND.get(dialect)
    if keyring is None:
        raise SecretsUnavailable(
            "an encrypted column was used on an engine without a secret key "
            "(engines for Helpline's data are made by Runtime.build)"
        )
    return keyring


class EncryptedString(TypeDecorator[str]):
    """Text encrypted at rest with the engine's :class:`Keyring`; ``what`` names the
    column in logs (``table.column``)."""

    impl = Text
    cache_ok = True

    def __init__(self, what: str) -> None:
        super().__init__()
        self.what = what

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None or value == "":
            return value  # type: ignore[no-any-return]
        return _bound(dialect).encrypt(str(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        if value is None or value == "":
            return value  # type: ignore[no-any-return]
        return _bound(dialect).read(str(value), what=self.what)

"""Password and secret hashing: argon2id for passwords, SHA-256 for random tokens."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_token(prefix: str) -> str:
    """A random bearer secret such as ``hlt_...``; only its hash is stored."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def token_digest(token: str) -> str:
    """The stored form of a random token (tokens are long and random: no salt needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def generate_password() -> str:
    """A password for generated accounts, printed once."""
    return secrets.token_urlsafe(12)

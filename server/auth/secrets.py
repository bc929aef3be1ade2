"""Password hashing (argon2id) and high-entropy token secrets (stored as SHA-256)."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

USER_TOKEN_PREFIX = "fcu_"
DEVICE_TOKEN_PREFIX = "fcd_"
ENROLMENT_CODE_PREFIX = "fce_"
MIN_PASSWORD_LENGTH = 8


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_secret(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# A hash to verify against when the user does not exist, so timing does not reveal usernames.
DUMMY_PASSWORD_HASH = hash_password(secrets.token_hex(16))

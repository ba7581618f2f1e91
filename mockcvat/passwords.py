"""Password hashes in Django's ``pbkdf2_sha256$<iterations>$<salt>$<hash>`` format.

The iteration count is a setting (low by default: a fake must log in fast); hashes made with
any count verify, so a database seeded by real Django hashes works too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

ALGORITHM = "pbkdf2_sha256"


def make_password(raw: str, iterations: int) -> str:
    salt = secrets.token_urlsafe(16)
    return f"{ALGORITHM}${iterations}${salt}${_digest(raw, salt, iterations)}"


def check_password(raw: str, encoded: str) -> bool:
    try:
        algorithm, iterations, salt, expected = encoded.split("$", 3)
        rounds = int(iterations)
    except ValueError:
        return False  # unusable ("!...") or malformed hash
    if algorithm != ALGORITHM:
        return False
    return hmac.compare_digest(_digest(raw, salt, rounds), expected)


def _digest(raw: str, salt: str, iterations: int) -> str:
    key = hashlib.pbkdf2_hmac("sha256", raw.encode(), salt.encode(), iterations)
    return base64.b64encode(key).decode()


# --- Django's AUTH_PASSWORD_VALIDATORS, as CVAT configures them -----------------------------
# (similarity to the user's attributes, at least 8 characters, not a common password, not
# all digits). Every failing check adds its message, in this order, as Django does.
SIMILARITY_ATTRIBUTES = (
    ("username", "username"),
    ("first_name", "first name"),
    ("last_name", "last name"),
    ("email", "email address"),
)
MAX_SIMILARITY = 0.7
MIN_LENGTH = 8


def password_problems(password: str, user: object | None = None) -> list[str]:
    problems = []
    similar_to = _similar_attribute(password, user) if user is not None else None
    if similar_to:
        problems.append(f"The password is too similar to the {similar_to}.")
    if len(password) < MIN_LENGTH:
        problems.append(
            f"This password is too short. It must contain at least {MIN_LENGTH} characters."
        )
    if password.lower().strip() in _common_passwords():
        problems.append("This password is too common.")
    if password.isdigit():
        problems.append("This password is entirely numeric.")
    return problems


def _similar_attribute(password: str, user: object) -> str | None:
    import re
    from difflib import SequenceMatcher

    lowered = password.lower()
    for attribute, verbose_name in SIMILARITY_ATTRIBUTES:
        value = getattr(user, attribute, None)
        if not value or not isinstance(value, str):
            continue
        value = value.lower()
        for part in [*re.split(r"\W+", value), value]:
            # a much longer password cannot be "similar" to a short part (Django's shortcut)
            if len(lowered) >= 10 * len(part) and len(part) < MAX_SIMILARITY / 2 * len(lowered):
                continue
            if SequenceMatcher(a=lowered, b=part).quick_ratio() >= MAX_SIMILARITY:
                return verbose_name
    return None


_COMMON: frozenset[str] | None = None


def _common_passwords() -> frozenset[str]:
    """Django's list of 20,000 common passwords (mockcvat/data, see docs/third-party.md)."""
    global _COMMON
    if _COMMON is None:
        import gzip
        from pathlib import Path

        path = Path(__file__).parent / "data" / "common-passwords.txt.gz"
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            _COMMON = frozenset(line.strip() for line in handle)
    return _COMMON

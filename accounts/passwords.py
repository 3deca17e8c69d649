"""Password hashing (argon2id, explicit parameters) and the password policy.

The parameters are RFC 9106's second recommended option, written out so that a change of the
library's defaults cannot silently change ours. A stored hash made with other parameters is
replaced at the next successful login (``needs_rehash``).
"""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from common.errors import InvalidInputError

TIME_COST = 3  # passes over memory (RFC 9106 §4, second option)
MEMORY_COST_KIB = 64 * 1024  # 64 MiB per hash: costly for a GPU farm, ~50 ms here
PARALLELISM = 4  # lanes; RFC 9106 §4
HASH_LENGTH = 32  # bytes of tag: 256 bits
SALT_LENGTH = 16  # bytes of random salt: RFC 9106's recommendation

MIN_PASSWORD_LENGTH = 12  # length over composition rules (NIST SP 800-63B §5.1.1)
MAX_PASSWORD_LENGTH = 1024  # bounds the work one request can cause


def make_password_hasher(
    *,
    time_cost: int = TIME_COST,
    memory_cost_kib: int = MEMORY_COST_KIB,
    parallelism: int = PARALLELISM,
) -> PasswordHasher:
    """An argon2id hasher; tests pass cheap parameters, production uses the defaults."""
    return PasswordHasher(
        time_cost=time_cost,
        memory_cost=memory_cost_kib,
        parallelism=parallelism,
        hash_len=HASH_LENGTH,
        salt_len=SALT_LENGTH,
        type=Type.ID,
    )


@cache
def default_password_hasher() -> PasswordHasher:
    """The production hasher, built on first use."""
    return make_password_hasher()


def check_password_policy(password: str) -> None:
    """Refuse (422) a password that is too short or too long; say why, never echo it."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInputError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInputError(f"a password has at most {MAX_PASSWORD_LENGTH} characters")
    if not password.strip():
        raise InvalidInputError("a password cannot be only spaces")


def hash_password(hasher: PasswordHasher, password: str) -> str:
    """The PHC string ($argon2id$v=19$m=…,t=…,p=…$salt$tag) to store."""
    return hasher.hash(password)


def verify_password(hasher: PasswordHasher, stored: str, password: str) -> bool:
    """True when ``password`` matches ``stored``; a corrupt stored hash never matches."""
    try:
        return hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(hasher: PasswordHasher, stored: str) -> bool:
    """True when ``stored`` was made with other parameters than ``hasher``'s."""
    try:
        return hasher.check_needs_rehash(stored)
    except InvalidHashError:
        return True


@cache
def _dummy_hash(time_cost: int, memory_cost: int, parallelism: int) -> str:
    hasher = make_password_hasher(
        time_cost=time_cost, memory_cost_kib=memory_cost, parallelism=parallelism
    )
    return hasher.hash("not a password of anyone")


def spend_verification(hasher: PasswordHasher, password: str) -> None:
    """Verify against a throw-away hash so an unknown username costs as long as a known one."""
    verify_password(
        hasher, _dummy_hash(hasher.time_cost, hasher.memory_cost, hasher.parallelism), password
    )

"""Opaque names for persons and records in responses, keyed by the server's secret.

- A **handle** names a person without their number: ``h`` + base32 of AES-SIV (deterministic
  authenticated encryption, RFC 5297) of the number's 17-digit body. The same person always gets
  the same handle (cards, profiles and graph nodes agree), nobody without the server's key can
  turn it back into the number or learn any digit of it, and a forged or altered handle fails
  authentication. The API resolves a handle server-side (an application's subject of kind
  ``handle``, or a subject-bound route's path), so an investigator never copies a full number.
- A **record id** in a response is a keyed pseudonym (HMAC-SHA-256) of the engine's document
  id. The engine's ids are unkeyed hashes of natural keys that hold ID numbers (a household
  record's key is the person's number): given the region and a birth month, a reader could hash
  every candidate and find the one that matches. No route takes a record id as input, so the
  pseudonym is one-way; the same record has the same id in every response.

Both alphabets (base32: a-z and 2-7) hold no run of digits that reads as a number. Changing the
secret changes every handle and record id (an application filed with a handle keeps the number
it was resolved to).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from analyzers.identifiers import id_check_char
from common.errors import InvalidInputError

HANDLE_PREFIX = "h"
# 17 decimal digits fit in 8 bytes; AES-SIV adds its 16-byte synthetic IV: 24 bytes, 39 base32.
_BODY_BYTES = 8
_HANDLE_CHARS = len(HANDLE_PREFIX) + 39
_RECORD_ID_BYTES = 15  # 120 bits: 24 base32 characters, no collision among any registry's ids
_PERSON_AD = b"person"
_SIV_KEY_BYTES = 64  # AES-256-SIV
_NUMBER = re.compile(r"\d{17}[\dX]", re.ASCII)
_INVALID = "not a valid handle (copy it whole from a card, a profile or a graph node)"


def _b32(raw: bytes) -> str:
    return base64.b32encode(raw).decode().rstrip("=").lower()


def _derive(secret: str, purpose: bytes, length: int) -> bytes:
    return HKDF(hashes.SHA256(), length, salt=b"xiansuo", info=purpose).derive(secret.encode())


@dataclass(frozen=True, slots=True)
class Handles:
    """Handles and record-id pseudonyms under one server secret (see the module docstring)."""

    _siv: AESSIV
    _id_key: bytes

    @classmethod
    def from_secret(cls, secret: str) -> Handles:
        return cls(
            AESSIV(_derive(secret, b"xiansuo person handle v1", _SIV_KEY_BYTES)),
            _derive(secret, b"xiansuo record id v1", 32),
        )

    def handle(self, id_number: str) -> str:
        """The handle of a normalised 18-character 公民身份号码; ValueError for anything else."""
        if not _NUMBER.fullmatch(id_number) or id_check_char(id_number[:17]) != id_number[17]:
            raise ValueError("a handle names a valid, normalised 公民身份号码")
        body = int(id_number[:17]).to_bytes(_BODY_BYTES, "big")
        sealed = self._siv.encrypt(body, [_PERSON_AD])
        return HANDLE_PREFIX + _b32(sealed)

    def of(self, value: object) -> str | None:
        """The handle of ``value`` if it is a valid, normalised number; else None."""
        try:
            return self.handle(value) if isinstance(value, str) else None
        except ValueError:
            return None

    def open(self, handle: str) -> str:
        """The 公民身份号码 a handle names; InvalidInputError (422) for anything else."""
        text = handle.strip().lower()
        if len(text) != _HANDLE_CHARS or not text.startswith(HANDLE_PREFIX):
            raise InvalidInputError(_INVALID)
        encoded = text[len(HANDLE_PREFIX) :].upper()
        try:
            sealed = base64.b32decode(encoded + "=" * (-len(encoded) % 8))
            body = self._siv.decrypt(sealed, [_PERSON_AD])
        except (binascii.Error, ValueError, InvalidTag):
            raise InvalidInputError(_INVALID) from None
        digits = f"{int.from_bytes(body, 'big'):017d}"
        if len(digits) != 17:  # pragma: no cover - only a holder of the key could seal this
            raise InvalidInputError(_INVALID)
        return digits + id_check_char(digits)

    def record_id(self, engine_id: str) -> str:
        """The pseudonym a response shows for an engine document (or edge) id."""
        digest = hmac.new(self._id_key, engine_id.encode(), hashlib.sha256).digest()
        return _b32(digest[:_RECORD_ID_BYTES])


def looks_like_handle(value: str) -> bool:
    """Whether ``value`` has a handle's shape (the route then resolves it, or refuses it)."""
    text = value.strip().lower()
    return len(text) == _HANDLE_CHARS and text.startswith(HANDLE_PREFIX) and text.isalnum()


@lru_cache(maxsize=4)
def handles_for(secret: str) -> Handles:
    """The process's handles for a secret (the key derivation runs once per secret)."""
    return Handles.from_secret(secret)

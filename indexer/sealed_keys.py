"""The sealed store's encryption: AES-256-GCM per value, the key in a file apart from the database.

Each complainant value is sealed on its own: a random 96-bit nonce, the value padded to a multiple
of ``PAD_BLOCK`` bytes (so a copy of the database does not tell an 18-character ID from a phone
number, a two-character name from a three-character one, or a signed petition from an anonymous
one), and the petition number and field name as associated data, so a ciphertext moved to another
row or field no longer authenticates. The stored blob is ``nonce || ciphertext || tag``; the row
beside it names the key (``key_id``) that sealed it.

The key file (``XIANSUO_SEALED_KEY_FILE``) holds one line, ``xiansuo-sealed-key/1 <key id>
<base64 key>``, and is created 0600 in a 0700 folder like the audit signing key; a file that
group or others may read is refused. During a key rotation the next key waits beside it in
``<key file>.next`` (see ``indexer.sealed_rotation``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_FORMAT = "xiansuo-sealed-key/1"
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # the 96-bit nonce GCM is specified for; random per value
# Every value pads to a multiple of this: names, 18-character IDs and phones all fit in one block.
PAD_BLOCK = 64
_PAD_MARK = b"\x80"  # ISO/IEC 7816-4 padding: a marker byte, then zeros
_AAD_PREFIX = b"xiansuo-sealed/1"
_NEXT_SUFFIX = ".next"


class SealedKeyError(ValueError):
    """A key file is missing, unreadable, too open, or a value does not authenticate under it."""


@dataclass(frozen=True, slots=True)
class SealedKey:
    """One AES-256 key and its id (a fingerprint, so the id cannot name another key)."""

    key_id: str
    secret: bytes = field(repr=False)


def key_id_of(secret: bytes) -> str:
    """The id of a key: 16 hex digits of SHA-256 over a label and the key."""
    return hashlib.sha256(b"xiansuo-sealed-key-id\x00" + secret).hexdigest()[:16]


def next_key_path(path: Path) -> Path:
    """Where a rotation keeps the next key until it has re-encrypted every row."""
    return path.with_name(path.name + _NEXT_SUFFIX)


def generate_sealed_key(path: Path) -> SealedKey:
    """Write a new random key to ``path`` (mode 0600, never overwriting) and return it."""
    secret = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
    key = SealedKey(key_id_of(secret), secret)
    line = f"{KEY_FORMAT} {key.key_id} {base64.b64encode(secret).decode()}\n"
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Written whole under a name of this process's own, then linked into place: a process that
    # finds ``path`` never reads it half-written, and of two creating it at once one link wins
    # (the other raises FileExistsError and loads the winner's key).
    staged = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.link(staged, path)
    finally:
        staged.unlink(missing_ok=True)
    sync_folder(path.parent)
    return key


def load_sealed_key(path: Path) -> SealedKey:
    """The key in ``path``; refused if group or others may read it, or if it is malformed."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise SealedKeyError(f"{path}: the sealed store key file does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SealedKeyError(f"{path}: cannot read the sealed store key file ({exc})") from None
    if mode & 0o077:
        raise SealedKeyError(f"{path}: the sealed store key must not be readable by others (0600)")
    parts = text.split()
    if len(parts) != 3 or parts[0] != KEY_FORMAT:
        raise SealedKeyError(f"{path}: not a sealed store key file ({KEY_FORMAT})")
    try:
        secret = base64.b64decode(parts[2], validate=True)
    except binascii.Error:
        raise SealedKeyError(f"{path}: the key is not valid base64") from None
    if len(secret) != KEY_BYTES or key_id_of(secret) != parts[1]:
        raise SealedKeyError(f"{path}: the key does not match its id (damaged file?)")
    return SealedKey(parts[1], secret)


def sync_folder(folder: Path) -> None:
    """fsync a folder, so a file created or renamed in it survives a crash."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _aad(petition_no: str, field_name: str) -> bytes:
    return b"\x1f".join((_AAD_PREFIX, petition_no.encode(), field_name.encode()))


def _pad(value: str | None) -> bytes:
    data = (value or "").encode() + _PAD_MARK
    return data + b"\x00" * (-len(data) % PAD_BLOCK)


def _unpad(data: bytes) -> str | None:
    text = data.rstrip(b"\x00")
    if not text.endswith(_PAD_MARK):
        raise SealedKeyError("a sealed value has no padding marker")
    return text[: -len(_PAD_MARK)].decode() or None


class Keyring:
    """The keys the sealed store may need: the current key file and, mid-rotation, the next one.

    Reloads the files when asked for a key it does not hold, so a long ingest picks up the key a
    rotation has just made active.
    """

    def __init__(self, path: Path, keys: Iterable[SealedKey] = ()) -> None:
        self.path = path
        self._keys = {key.key_id: key for key in keys}

    @property
    def key_ids(self) -> list[str]:
        return sorted(self._keys)

    def file_key_id(self) -> str:
        """The id of the key in the key file itself (not the next one)."""
        return load_sealed_key(self.path).key_id

    def reload(self) -> None:
        """Read the key file and, if a rotation is under way, the next key."""
        keys = [load_sealed_key(self.path)]
        if next_key_path(self.path).exists():
            keys.append(load_sealed_key(next_key_path(self.path)))
        self._keys = {key.key_id: key for key in keys}

    def key(self, key_id: str) -> SealedKey:
        """The key with ``key_id``, re-reading the files once if it is not held yet."""
        if key_id not in self._keys:
            self.reload()
        try:
            return self._keys[key_id]
        except KeyError:
            raise SealedKeyError(
                f"the sealed store needs key {key_id}, which is neither in {self.path} nor in "
                f"{next_key_path(self.path)}"
            ) from None

    def seal(self, key_id: str, petition_no: str, field_name: str, value: str | None) -> bytes:
        """``nonce || AES-GCM(padded value)`` bound to the petition number and field name."""
        nonce = os.urandom(NONCE_BYTES)
        aead = AESGCM(self.key(key_id).secret)
        return nonce + aead.encrypt(nonce, _pad(value), _aad(petition_no, field_name))

    def open(self, key_id: str, petition_no: str, field_name: str, blob: bytes) -> str | None:
        """The value sealed in ``blob``; SealedKeyError if it does not authenticate."""
        aead = AESGCM(self.key(key_id).secret)
        nonce, sealed = blob[:NONCE_BYTES], blob[NONCE_BYTES:]
        try:
            data = aead.decrypt(nonce, sealed, _aad(petition_no, field_name))
        except InvalidTag:
            raise SealedKeyError(
                f"a sealed {field_name} of petition {petition_no} does not authenticate under key "
                f"{key_id} (wrong key, or the value was moved from another row or field)"
            ) from None
        return _unpad(data)


def load_keyring(path: Path) -> Keyring:
    """The keyring of the key file at ``path`` (and its ``.next`` during a rotation)."""
    keyring = Keyring(path)
    keyring.reload()
    return keyring

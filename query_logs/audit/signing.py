"""Ed25519 keys for checkpoints: the private key lives in a file apart from the database.

A checkpoint signs ``canonical_json({"v", "seq", "entry_hash", "ts", "key_id"})`` (see
``checkpoint_payload``), so anyone holding the public key can check it without our code.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import stat
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from query_logs.audit.entries import canonical_json

PAYLOAD_VERSION = "xiansuo-audit-checkpoint/1"


def public_key_path(private_key_path: Path) -> Path:
    """Where ``generate_signing_key`` puts the public half: ``<key file>.pub``."""
    return private_key_path.with_name(private_key_path.name + ".pub")


def generate_signing_key(path: Path) -> Ed25519PublicKey:
    """Write a new private key to ``path`` (PEM, mode 0600, never overwriting) and its ``.pub``."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, pem)
        os.fsync(fd)
    finally:
        os.close(fd)
    public = key.public_key()
    public_key_path(path).write_bytes(
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return public


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    """The private key at ``path``; refused if group or others may read it (as ssh does)."""
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        raise ValueError(
            f"{path}: the audit signing key must not be readable by others (chmod 600)"
        )
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path}: not an Ed25519 private key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """A public key from a PEM file (what an auditor holds to verify the log)."""
    key = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path}: not an Ed25519 public key")
    return key


def key_fingerprint(key: Ed25519PublicKey) -> str:
    """The default key id: the first 16 hex digits of SHA-256 over the raw public key."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def checkpoint_payload(seq: int, entry_hash: str, ts: str, key_id: str) -> bytes:
    """The exact bytes a checkpoint signature covers."""
    return canonical_json(
        {"v": PAYLOAD_VERSION, "seq": seq, "entry_hash": entry_hash, "ts": ts, "key_id": key_id}
    )


def sign_checkpoint(key: Ed25519PrivateKey, seq: int, entry_hash: str, ts: str, key_id: str) -> str:
    """The base64 signature stored in ``audit_checkpoint.signature``."""
    return base64.b64encode(key.sign(checkpoint_payload(seq, entry_hash, ts, key_id))).decode()


def signature_is_valid(
    key: Ed25519PublicKey, signature: str, seq: int, entry_hash: str, ts: str, key_id: str
) -> bool:
    """True when ``signature`` is ``key``'s over this checkpoint."""
    try:
        raw = base64.b64decode(signature, validate=True)
        key.verify(raw, checkpoint_payload(seq, entry_hash, ts, key_id))
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True

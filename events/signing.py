"""Ed25519 keys and signatures (PyNaCl), hex encoded."""

from __future__ import annotations

from dataclasses import dataclass

from nacl.bindings import crypto_sign_BYTES, crypto_sign_open
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey


@dataclass(frozen=True)
class KeyPair:
    private_key: str
    public_key: str

    @classmethod
    def generate(cls) -> KeyPair:
        key = SigningKey.generate()
        return cls(private_key=key.encode().hex(), public_key=key.verify_key.encode().hex())

    @classmethod
    def from_private(cls, private_hex: str) -> KeyPair:
        key = SigningKey(bytes.fromhex(private_hex))
        return cls(private_key=private_hex, public_key=key.verify_key.encode().hex())

    def sign(self, message: bytes) -> str:
        return sign(self.private_key, message)


def sign(private_hex: str, message: bytes) -> str:
    return SigningKey(bytes.fromhex(private_hex)).sign(message).signature.hex()


_VERIFY_KEYS: dict[str, bytes] = {}
"""Public keys checked once by :class:`VerifyKey` (well formed), kept as their raw bytes."""


def verify(public_hex: str, message: bytes, signature_hex: str) -> bool:
    """True when ``signature_hex`` is a valid Ed25519 signature of ``message`` (what
    ``VerifyKey.verify`` does, called on libsodium directly: one verify per event on the
    write path)."""
    key = _VERIFY_KEYS.get(public_hex)
    if key is None:
        try:
            key = bytes(VerifyKey(bytes.fromhex(public_hex)))
        except (ValueError, TypeError):
            return False
        _VERIFY_KEYS[public_hex] = key
    try:
        signature = bytes.fromhex(signature_hex)
        if len(signature) != crypto_sign_BYTES:
            return False
        crypto_sign_open(signature + message, key)
    except (BadSignatureError, ValueError, TypeError):
        return False
    return True

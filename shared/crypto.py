"""Signatures, hashes, passwords and the few symmetric secrets, behind one small API.

Nothing else imports `cryptography.hazmat`. The election's own cryptography (ristretto255
ElGamal ballots, row proofs, Feldman key shares, proven partial decryptions) is
`shared/elgamal.py` on libsodium; this module holds the rest:

- Signatures: Ed25519 (`cryptography`); the streamed check of a large box uses
  PyCryptodome's curve arithmetic, because `cryptography` takes only a whole message.
- Passwords: scrypt (memory-hard), from `cryptography`.
- Short secrets at rest (the counter's waiting share codes): AES-256-GCM under a random key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Iterable

from Crypto.PublicKey.ECC import EccPoint
from Crypto.Signature import eddsa
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

_RAW = serialization.Encoding.Raw
_RAW_PRIV = serialization.PrivateFormat.Raw
_RAW_PUB = serialization.PublicFormat.Raw
_NO_ENC = serialization.NoEncryption()


class CryptoError(Exception):
    """A cryptographic operation failed (wrong key, tampered data)."""


# --- short secrets at rest ------------------------------------------------------------

SECRET_KEY_LENGTH = 32
_NONCE_LENGTH = 12


def new_secret_key() -> bytearray:
    """A fresh random AES-256 key, in a bytearray so the caller can wipe it."""
    return bytearray(secrets.token_bytes(SECRET_KEY_LENGTH))


def derive_key(secret: str | bytes, label: str) -> bytes:
    """HMAC-SHA256(secret, label): a key for one purpose, so the app's secret is never used twice."""
    raw = secret.encode() if isinstance(secret, str) else bytes(secret)
    return hmac.new(raw, label.encode(), hashlib.sha256).digest()


def seal_secret(plaintext: bytes, key: bytes | bytearray, context: bytes) -> bytes:
    """AES-256-GCM under key with a random nonce (nonce || ciphertext); context is bound as AAD."""
    nonce = secrets.token_bytes(_NONCE_LENGTH)
    return nonce + AESGCM(bytes(key)).encrypt(nonce, plaintext, context)


def open_secret(sealed: bytes, key: bytes | bytearray, context: bytes) -> bytes:
    """Open seal_secret's output; CryptoError if the key, the context or the bytes are wrong."""
    try:
        return AESGCM(bytes(key)).decrypt(sealed[:_NONCE_LENGTH], sealed[_NONCE_LENGTH:], context)
    except (InvalidTag, ValueError) as exc:
        raise CryptoError("secret does not open") from exc


def wipe(secret: bytearray) -> None:
    """Overwrite a secret held in a bytearray (best effort in Python)."""
    for i in range(len(secret)):
        secret[i] = 0


# --- Ed25519 signatures -----------------------------------------------------------------

def generate_signing_key() -> bytes:
    """A fresh Ed25519 private key as 32 raw bytes."""
    return Ed25519PrivateKey.generate().private_bytes(_RAW, _RAW_PRIV, _NO_ENC)


def signing_public_key(private_key: bytes) -> bytes:
    """The Ed25519 public key of a private key."""
    return Ed25519PrivateKey.from_private_bytes(private_key).public_key().public_bytes(_RAW, _RAW_PUB)


def sign(private_key: bytes, message: bytes) -> bytes:
    """Ed25519 signature of message."""
    return Ed25519PrivateKey.from_private_bytes(private_key).sign(message)


def verify_signature(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """True if signature is a valid Ed25519 signature of message by public_key."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
        return True
    except (InvalidSignature, ValueError):
        return False


# Ed25519 base point (RFC 8032 5.1): for the streamed check below.
_ED25519_B = EccPoint(
    15112221349535400772501151409588531511454012693041857206046113283949847762202,
    46316835694926478169428394003475163141307993866256225615783033603165251855960, "ed25519")
_ED25519_L = 2**252 + 27742317777372353535851937790883648493


def verify_signature_stream(public_key: bytes, signature: bytes, chunks: Iterable[bytes]) -> bool:
    """verify_signature over the concatenated chunks, never holding them all (a large box).

    RFC 8032 5.1.7 with k = SHA-512(R || A || M) fed chunk by chunk; `cryptography` takes
    only a whole message, so the curve arithmetic is PyCryptodome's (its own Ed25519
    verifier's cofactored check, [8][S]B = [8]R + [8][k]A). Honest signatures verify the
    same under both; tests/test_box_stream.py compares them.
    """
    if len(signature) != 64 or len(public_key) != 32:
        return False
    try:
        point_a = eddsa.import_public_key(public_key).pointQ
        point_r = eddsa.import_public_key(signature[:32]).pointQ
    except ValueError:
        return False
    s = int.from_bytes(signature[32:], "little")
    if s >= _ED25519_L:
        return False
    h = hashlib.sha512(signature[:32] + public_key)
    for chunk in chunks:
        h.update(chunk)
    k = int.from_bytes(h.digest(), "little") % _ED25519_L
    return bool((8 * s) * _ED25519_B == point_r * 8 + point_a * (8 * k))


# --- passwords and random -----------------------------------------------------------------

_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**15, 8, 1  # 32 MiB per hash: memory-hard


def hash_password(password: str) -> str:
    """scrypt hash of a password, with its parameters and salt, as one string."""
    salt = secrets.token_bytes(16)
    key = Scrypt(salt=salt, length=32, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P).derive(password.encode())
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${salt.hex()}${key.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """True if password matches a hash_password string (constant-time compare)."""
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        derived = Scrypt(salt=bytes.fromhex(salt), length=32, n=int(n), r=int(r), p=int(p)).derive(
            password.encode()
        )
    except ValueError:
        return False
    return hmac.compare_digest(derived, bytes.fromhex(key))


def random_bytes(n: int) -> bytes:
    """n bytes from the operating system's CSPRNG."""
    return secrets.token_bytes(n)


def token_hash(election_id: str, token: bytes) -> str:
    """The stored form of a slip token: SHA-256 bound to the election (never the token)."""
    return hashlib.sha256(b"cv-token-v1\x00" + election_id.encode() + b"\x00" + token).hexdigest()


def fingerprint(ciphertext: bytes) -> str:
    """A ballot's fingerprint: SHA-256 hex of its ciphertext (the voter's receipt)."""
    return hashlib.sha256(ciphertext).hexdigest()


# --- LAN TLS certificates ---------------------------------------------------------------

def make_lan_certificates(hostname: str, addresses: list[str], days: int = 400
                          ) -> dict[str, bytes]:
    """A local certificate authority and a server certificate for the kiosk's LAN name/IPs.

    Returns PEM bytes: ca_cert, ca_key, server_cert, server_key. Tablets install ca_cert
    once; the CA key can then be kept offline or destroyed.
    """
    # x509 only here: `kiosk tls` and the demo's LAN mode make certificates, and no other
    # command or worker start pays for loading it.
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"CA bỏ phiếu {hostname}"),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Lấy phiếu tín nhiệm")])
    ca_cert = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
               .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                            content_commitment=False, key_encipherment=False,
                                            data_encipherment=False, key_agreement=False,
                                            encipher_only=False, decipher_only=False), critical=True)
               .sign(ca_key, hashes.SHA256()))
    server_key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName(hostname)]
    names += [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]
    # Browsers cap server certificate lifetimes; 397 days is the longest they accept.
    server_cert = (x509.CertificateBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)]))
                   .issuer_name(ca_name).public_key(server_key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - dt.timedelta(minutes=5))
                   .not_valid_after(now + dt.timedelta(days=min(days, 397)))
                   .add_extension(x509.SubjectAlternativeName(names), critical=False)
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                   .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    private = serialization.PrivateFormat.PKCS8
    return {
        "ca_cert": ca_cert.public_bytes(pem),
        "ca_key": ca_key.private_bytes(pem, private, _NO_ENC),
        "server_cert": server_cert.public_bytes(pem),
        "server_key": server_key.private_bytes(pem, private, _NO_ENC),
    }


# --- slip holder tags (docs/storage-secrecy.md D5) ----------------------------------------

HOLDER_KEY_LENGTH = 32


def new_holder_key() -> bytes:
    """A fresh per-election holder key K: 32 random bytes, kept only in a memory-backed file."""
    return secrets.token_bytes(HOLDER_KEY_LENGTH)


def holder_tag(key: bytes, election_id: str, voter_id: str, token_hash: str) -> str:
    """HMAC-SHA256(K, "cv-slip-holder-v1" 0x00 election_id 0x00 voter_id 0x00 token_hash), hex.

    Stored on the slip's token row: with K, the desk can tell whether a typed slip is the
    one issued to the voter on whose row it is voided; without K the tag is random-looking.
    """
    message = b"\x00".join((b"cv-slip-holder-v1", election_id.encode(), voter_id.encode(),
                            token_hash.encode()))
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def holder_tag_matches(key: bytes, election_id: str, voter_id: str, token_hash: str,
                       stored: str) -> bool:
    """True if `stored` is the holder tag of that voter and token under K (constant time)."""
    return hmac.compare_digest(holder_tag(key, election_id, voter_id, token_hash), stored)


def holder_key_id(key: bytes) -> str:
    """A short public name of a holder key (16 hex), so a slip tagged under a lost key is told apart."""
    return hmac.new(key, b"cv-slip-holder-key-id-v1", hashlib.sha256).hexdigest()[:16]


def hashes_equal(a: str, b: str) -> bool:
    """Constant-time comparison of two stored hashes (hex strings)."""
    return hmac.compare_digest(a.encode(), b.encode())

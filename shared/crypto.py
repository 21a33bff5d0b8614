"""All cryptography of the system behind one small API (nothing else imports hazmat).

- Ballots: HPKE (RFC 9180) base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
  AES-256-GCM, from `cryptography`. The `info` string binds a ballot to its election.
- Key shares: Shamir k-of-n from PyCryptodome (GF(2^128)); the 32-byte X25519 private
  key is split as two 16-byte halves with the same share indices.
- Signatures: Ed25519. Passwords: scrypt (memory-hard), from `cryptography`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Sequence

from Crypto.Protocol.SecretSharing import Shamir
from Crypto.PublicKey.ECC import EccPoint
from Crypto.Signature import eddsa
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

HPKE_SUITE_NAME = "DHKEM(X25519,HKDF-SHA256)/HKDF-SHA256/AES-256-GCM"
_SUITE = Suite(KEM.X25519, KDF.HKDF_SHA256, AEAD.AES_256_GCM)
_RAW = serialization.Encoding.Raw
_RAW_PRIV = serialization.PrivateFormat.Raw
_RAW_PUB = serialization.PublicFormat.Raw
_NO_ENC = serialization.NoEncryption()


class CryptoError(Exception):
    """A cryptographic operation failed (wrong key, tampered data, bad share)."""


# --- election key and ballots -------------------------------------------------------

def generate_election_key() -> tuple[bytearray, bytes]:
    """A fresh X25519 key pair: (private key bytes, kept in memory only; public key bytes)."""
    private = X25519PrivateKey.generate()
    raw = bytearray(private.private_bytes(_RAW, _RAW_PRIV, _NO_ENC))
    return raw, private.public_key().public_bytes(_RAW, _RAW_PUB)


def election_public_key(private_key: bytes | bytearray) -> bytes:
    """The X25519 public key that belongs to a private key."""
    private = X25519PrivateKey.from_private_bytes(bytes(private_key))
    return private.public_key().public_bytes(_RAW, _RAW_PUB)


def seal_ballot(plaintext: bytes, public_key: bytes, info: bytes) -> bytes:
    """HPKE-encrypt a ballot to the election public key (enc || ciphertext)."""
    return _SUITE.encrypt(plaintext, X25519PublicKey.from_public_bytes(public_key), info)


def open_ballot(ciphertext: bytes, private_key: bytes | bytearray, info: bytes) -> bytes:
    """HPKE-decrypt a ballot; CryptoError if the key, the info or the bytes are wrong."""
    try:
        private = X25519PrivateKey.from_private_bytes(bytes(private_key))
        return _SUITE.decrypt(ciphertext, private, info)
    except (InvalidTag, ValueError) as exc:
        raise CryptoError("ballot does not decrypt") from exc


def wipe(secret: bytearray) -> None:
    """Overwrite a secret held in a bytearray (best effort in Python)."""
    for i in range(len(secret)):
        secret[i] = 0


# --- Shamir key shares ----------------------------------------------------------------

SHARE_LENGTH = 32


def split_key(private_key: bytes | bytearray, threshold: int, members: int) -> list[tuple[int, bytes]]:
    """Split a 32-byte key into `members` shares, any `threshold` of which rebuild it."""
    if not 1 <= threshold <= members <= 255:
        raise ValueError("need 1 <= k <= n <= 255")
    key = bytes(private_key)
    if len(key) != 32:
        raise ValueError("key must be 32 bytes")
    if threshold == 1:
        # Shamir with k = 1 is the key itself; PyCryptodome needs k >= 2.
        return [(i, key) for i in range(1, members + 1)]
    low = Shamir.split(threshold, members, key[:16])
    high = Shamir.split(threshold, members, key[16:])
    return [(i, a + b) for (i, a), (j, b) in zip(low, high) if i == j]


def combine_shares(shares: Sequence[tuple[int, bytes]]) -> bytearray:
    """Rebuild the key from shares (index, 32 bytes); the caller checks the result."""
    if not shares:
        raise CryptoError("no shares")
    if len({i for i, _ in shares}) != len(shares):
        raise CryptoError("duplicate share index")
    if len(shares) == 1:
        return bytearray(shares[0][1])
    low = Shamir.combine([(i, s[:16]) for i, s in shares])
    high = Shamir.combine([(i, s[16:]) for i, s in shares])
    return bytearray(low + high)


def share_commitment(election_id: str, index: int, share: bytes) -> str:
    """Public hash of a share, published in the manifest so a wrong share is named."""
    h = hashlib.sha256(b"cv-share-commitment-v1\x00")
    h.update(election_id.encode() + b"\x00" + bytes([index]) + share)
    return h.hexdigest()


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
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.timezone.utc)
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

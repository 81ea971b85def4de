"""The bundle container: encrypted in authenticated chunks, signed by the sending device.

Layout (all integers big-endian):

    MAGIC (16 bytes)
    u32 header length, header JSON (clear text), sha256(header) (32 bytes)
    chunks: u32 length, ChaCha20-Poly1305 ciphertext; the last one carries the final flag

The header names the format version, the sender's device id and signing key, and the content key
wrapped for each reader: X25519 (ephemeral key + HKDF) for a device, scrypt for a passphrase.
Each chunk's nonce holds its index and a final flag, and every chunk is bound to the header
(associated data), so reordering, truncation and any bit flip fail before anything is used.
The last chunk holds the Ed25519 signature over sha256(header) + sha256(body). The body is the
zlib-compressed payload. The sha256 after the header only tells damage from a wrong key.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from db.sync.identity import Identity, SyncError, b64, device_id_for, fingerprint, unb64
from i18n import _

MAGIC = b"GRIDDESK-BUNDLE\x01"
FORMAT_VERSION = 1
CHUNK_SIZE = 1 << 20
SCRYPT_N, SCRYPT_R, SCRYPT_P = 1 << 15, 8, 1
_MAX_SCRYPT_N = 1 << 20
_WRAP_AAD = b"griddesk-bundle-key"
_U32 = struct.Struct(">I")


@dataclass
class Opened:
    header: dict
    header_bytes: bytes
    body: bytes  # decompressed payload


def _hkdf(shared: bytes, epk: bytes, recipient: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"griddesk bundle x25519" + epk + recipient).derive(shared)


def _scrypt(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))


def _nonce(prefix: bytes, index: int, final: bool) -> bytes:
    return prefix + _U32.pack(index) + (b"\x01" if final else b"\x00")


def seal(payload: bytes, *, sender: Identity, header_fields: dict, recipients: list[tuple[str, bytes]],
         passphrase: str | None = None, compress_level: int = 1) -> bytes:
    """Compress, encrypt and sign payload for the recipients (device id, X25519 key) and/or a passphrase."""
    if not recipients and not passphrase:
        raise SyncError(_("A bundle needs a receiving device or a passphrase."))
    key = ChaCha20Poly1305.generate_key()
    keys = []
    for device_id, box_public in recipients:
        eph = X25519PrivateKey.generate()
        epk = eph.public_key().public_bytes_raw()
        kek = _hkdf(eph.exchange(X25519PublicKey.from_public_bytes(box_public)), epk, box_public)
        nonce = os.urandom(12)
        keys.append({"kind": "x25519", "to": device_id, "epk": b64(epk), "nonce": b64(nonce),
                     "wrapped": b64(ChaCha20Poly1305(kek).encrypt(nonce, key, _WRAP_AAD))})
    if passphrase:
        salt = os.urandom(16)
        kek = _scrypt(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
        nonce = os.urandom(12)
        keys.append({"kind": "scrypt", "salt": b64(salt), "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P,
                     "nonce": b64(nonce), "wrapped": b64(ChaCha20Poly1305(kek).encrypt(nonce, key, _WRAP_AAD))})
    prefix = os.urandom(7)
    header = dict(header_fields)
    header.update({"format": FORMAT_VERSION, "sender": sender.device_id, "sender_name": sender.name,
                   "sign_public": b64(sender.sign_public), "chunk_size": CHUNK_SIZE,
                   "nonce_prefix": b64(prefix), "keys": keys})
    header_bytes = json.dumps(header, ensure_ascii=False, sort_keys=True).encode("utf-8")
    header_hash = hashlib.sha256(header_bytes).digest()
    body = zlib.compress(payload, compress_level)
    signature = sender.sign_private.sign(header_hash + hashlib.sha256(body).digest())
    aead = ChaCha20Poly1305(key)
    out = [MAGIC, _U32.pack(len(header_bytes)), header_bytes, header_hash]
    index = 0
    for start in range(0, len(body), CHUNK_SIZE):
        ct = aead.encrypt(_nonce(prefix, index, False), body[start:start + CHUNK_SIZE], header_hash)
        out += [_U32.pack(len(ct)), ct]
        index += 1
    ct = aead.encrypt(_nonce(prefix, index, True), signature, header_hash)
    out += [_U32.pack(len(ct)), ct]
    return b"".join(out)


def _truncated() -> SyncError:
    return SyncError(_("The bundle file is incomplete (cut off): it was probably not copied to the end, "
                       "or the stick was removed too early. Nothing was imported."))


def _damaged(where: str) -> SyncError:
    return SyncError(_("The bundle file is damaged ({where}): it was changed after it was written. "
                       "Nothing was imported; ask the sender for a new copy.").format(where=where))


def read_header(data: bytes) -> tuple[dict, bytes, int]:
    """Parse the clear-text header; returns (header, header bytes, offset of the first chunk)."""
    if not data.startswith(MAGIC[:-1]):
        raise SyncError(_("This file is not a GridDesk bundle."))
    if len(data) < len(MAGIC) or data[len(MAGIC) - 1] > MAGIC[-1]:
        raise _newer() if len(data) >= len(MAGIC) else _truncated()
    if data[len(MAGIC) - 1] != MAGIC[-1]:
        raise SyncError(_("This file is not a GridDesk bundle."))
    pos = len(MAGIC)
    if len(data) < pos + 4:
        raise _truncated()
    (length,) = _U32.unpack_from(data, pos)
    pos += 4
    if len(data) < pos + length + 32:
        raise _truncated()
    header_bytes = data[pos:pos + length]
    if hashlib.sha256(header_bytes).digest() != data[pos + length:pos + length + 32]:
        raise _damaged(_("header"))
    try:
        header = json.loads(header_bytes)
        if not isinstance(header, dict) or not isinstance(header.get("format"), int):
            raise ValueError
    except ValueError as exc:
        raise _damaged(_("header")) from exc
    if header["format"] > FORMAT_VERSION:
        raise _newer()
    return header, header_bytes, pos + length + 32


def _newer() -> SyncError:
    return SyncError(_("This bundle was made by a newer version of GridDesk (bundle format newer than "
                       "this version reads). Please update GridDesk, then import it again."))


def _content_key(header: dict, me: Identity | None, passphrase: str | None) -> bytes:
    keys = header.get("keys") or []
    mine = [k for k in keys if k.get("kind") == "x25519" and me is not None and k.get("to") == me.device_id]
    phrase = [k for k in keys if k.get("kind") == "scrypt"]
    for entry in mine:
        try:
            epk = unb64(entry["epk"])
            kek = _hkdf(me.box_private.exchange(X25519PublicKey.from_public_bytes(epk)), epk, me.box_public)
            return ChaCha20Poly1305(kek).decrypt(unb64(entry["nonce"]), unb64(entry["wrapped"]), _WRAP_AAD)
        except (InvalidTag, ValueError, KeyError) as exc:
            if not phrase:
                raise SyncError(_("This bundle cannot be opened with this device's key (wrong key): "
                                  "it was encrypted for another key of this device id.")) from exc
    if phrase:
        if not passphrase:
            raise SyncError(_("This bundle is protected by a passphrase. Enter the passphrase to open it."))
        entry = phrase[0]
        try:
            n, r, p = int(entry["n"]), int(entry["r"]), int(entry["p"])
            if n > _MAX_SCRYPT_N or r > 32 or p > 16:
                raise _damaged(_("header"))
            kek = _scrypt(passphrase, unb64(entry["salt"]), n, r, p)
            return ChaCha20Poly1305(kek).decrypt(unb64(entry["nonce"]), unb64(entry["wrapped"]), _WRAP_AAD)
        except InvalidTag as exc:
            raise SyncError(_("Wrong passphrase: this bundle cannot be opened with it.")) from exc
        except (ValueError, KeyError) as exc:
            raise _damaged(_("header")) from exc
    targets = ", ".join(fingerprint(k.get("to", "")) for k in keys if k.get("kind") == "x25519")
    raise SyncError(_("This bundle was encrypted for another device ({devices}), not for this one, and "
                      "has no passphrase. Ask the sender to export it for this device.").format(devices=targets))


def open_sealed(data: bytes, *, me: Identity | None, passphrase: str | None,
                check_sender: Callable[[dict], bytes]) -> Opened:
    """Verify and decrypt a whole bundle; raises SyncError before returning anything otherwise.

    check_sender(header) returns the trusted signing key of the sender or raises SyncError.
    """
    header, header_bytes, pos = read_header(data)
    try:
        sign_public = unb64(header["sign_public"])
        if device_id_for(sign_public) != header["sender"]:
            raise ValueError
        prefix = unb64(header["nonce_prefix"])
        if len(prefix) != 7:
            raise ValueError
    except (KeyError, ValueError, TypeError) as exc:
        raise _damaged(_("header")) from exc
    trusted_key = check_sender(header)
    if trusted_key != sign_public:
        raise SyncError(_("The sender's key does not match the key trusted for device {device}: the "
                          "bundle may be forged. Nothing was imported.").format(device=fingerprint(header["sender"])))
    key = _content_key(header, me, passphrase)
    header_hash = hashlib.sha256(header_bytes).digest()
    aead = ChaCha20Poly1305(key)
    parts: list[bytes] = []
    signature = None
    index = 0
    size = len(data)
    while True:
        if pos == size:
            raise _truncated()
        if pos + 4 > size:
            raise _truncated()
        (length,) = _U32.unpack_from(data, pos)
        pos += 4
        if length > CHUNK_SIZE + 16 or length < 16:
            raise _damaged(_("part {n}").format(n=index + 1))
        if pos + length > size:
            raise _truncated()
        chunk = data[pos:pos + length]
        pos += length
        try:
            plain = aead.decrypt(_nonce(prefix, index, False), chunk, header_hash)
        except InvalidTag:
            try:
                signature = aead.decrypt(_nonce(prefix, index, True), chunk, header_hash)
            except InvalidTag as exc:
                raise _damaged(_("part {n}").format(n=index + 1)) from exc
            break
        parts.append(plain)
        index += 1
    if pos != size:
        raise _damaged(_("extra data after the end"))
    body = b"".join(parts)
    try:
        Ed25519PublicKey.from_public_bytes(sign_public).verify(
            signature, header_hash + hashlib.sha256(body).digest())
    except InvalidSignature as exc:
        raise SyncError(_("The bundle's signature is not valid: it was not sent by the device it "
                          "names. Nothing was imported.")) from exc
    try:
        payload = zlib.decompress(body)
    except zlib.error as exc:
        raise _damaged(_("content")) from exc
    return Opened(header, header_bytes, payload)

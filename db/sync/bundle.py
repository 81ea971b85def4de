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

Reading is streamed in two passes (verify_sealed, then payload): the first authenticates every
chunk and checks the signature without keeping anything, the second decrypts again to apply, and
checks that the body is the one that was verified. Writing is streamed too (SealWriter). The
payload's zlib stream is written by one compressor object, which old readers read as before.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

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


class SealWriter:
    """Write a bundle to a binary file piece by piece: the payload is compressed, cut into chunks,
    encrypted and hashed as it comes, so memory does not grow with the bundle (close() signs it)."""

    def __init__(self, fh: BinaryIO, *, sender: Identity, header_fields: dict, recipients: list[tuple[str, bytes]],
                 passphrase: str | None = None, compress_level: int = 1):
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
                         "nonce": b64(nonce),
                         "wrapped": b64(ChaCha20Poly1305(kek).encrypt(nonce, key, _WRAP_AAD))})
        self._prefix = os.urandom(7)
        header = dict(header_fields)
        header.update({"format": FORMAT_VERSION, "sender": sender.device_id, "sender_name": sender.name,
                       "sign_public": b64(sender.sign_public), "chunk_size": CHUNK_SIZE,
                       "nonce_prefix": b64(self._prefix), "keys": keys})
        header_bytes = json.dumps(header, ensure_ascii=False, sort_keys=True).encode("utf-8")
        self._header_hash = hashlib.sha256(header_bytes).digest()
        self._fh = fh
        self._sender = sender
        self._aead = ChaCha20Poly1305(key)
        self._z = zlib.compressobj(compress_level)
        self._pending = bytearray()
        self._body_hash = hashlib.sha256()
        self._index = 0
        fh.write(MAGIC + _U32.pack(len(header_bytes)) + header_bytes + self._header_hash)

    def _emit(self, piece: bytes) -> None:
        self._body_hash.update(piece)
        ct = self._aead.encrypt(_nonce(self._prefix, self._index, False), piece, self._header_hash)
        self._fh.write(_U32.pack(len(ct)) + ct)
        self._index += 1

    def _drain(self, everything: bool) -> None:
        pending = self._pending
        start = 0
        while len(pending) - start >= CHUNK_SIZE or (everything and start < len(pending)):
            self._emit(bytes(pending[start:start + CHUNK_SIZE]))
            start += CHUNK_SIZE
        del pending[:start]

    def write(self, data: bytes) -> None:
        self._pending += self._z.compress(data)
        if len(self._pending) >= CHUNK_SIZE:
            self._drain(False)

    def close(self) -> None:
        """Flush the last chunks and write the final one with the signature."""
        self._pending += self._z.flush()
        self._drain(True)
        signature = self._sender.sign_private.sign(self._header_hash + self._body_hash.digest())
        ct = self._aead.encrypt(_nonce(self._prefix, self._index, True), signature, self._header_hash)
        self._fh.write(_U32.pack(len(ct)) + ct)


def seal(payload: bytes, *, sender: Identity, header_fields: dict, recipients: list[tuple[str, bytes]],
         passphrase: str | None = None, compress_level: int = 1) -> bytes:
    """Compress, encrypt and sign payload for the recipients (device id, X25519 key) and/or a passphrase."""
    out = io.BytesIO()
    writer = SealWriter(out, sender=sender, header_fields=header_fields, recipients=recipients,
                        passphrase=passphrase, compress_level=compress_level)
    writer.write(payload)
    writer.close()
    return out.getvalue()


def _truncated() -> SyncError:
    return SyncError(_("The bundle file is incomplete (cut off): it was probably not copied to the end, "
                       "or the stick was removed too early. Nothing was imported."))


def _damaged(where: str) -> SyncError:
    return SyncError(_("The bundle file is damaged ({where}): it was changed after it was written. "
                       "Nothing was imported; ask the sender for a new copy.").format(where=where))


def read_header(data: bytes) -> tuple[dict, bytes, int]:
    """Parse the clear-text header; returns (header, header bytes, offset of the first chunk)."""
    fh = io.BytesIO(data)
    header, header_bytes = read_header_from(fh)
    return header, header_bytes, fh.tell()


def _read_exactly(fh: BinaryIO, n: int) -> bytes:
    data = fh.read(n)
    if len(data) < n:
        raise _truncated()
    return data


_MAX_HEADER = 1 << 20


def read_header_from(fh: BinaryIO) -> tuple[dict, bytes]:
    """Read and check the clear-text header at the start of fh; leaves fh at the first chunk."""
    head = fh.read(len(MAGIC))
    if not head.startswith(MAGIC[:-1]):
        raise SyncError(_("This file is not a GridDesk bundle."))
    if len(head) < len(MAGIC) or head[-1] > MAGIC[-1]:
        raise _newer() if len(head) >= len(MAGIC) else _truncated()
    if head[-1] != MAGIC[-1]:
        raise SyncError(_("This file is not a GridDesk bundle."))
    (length,) = _U32.unpack(_read_exactly(fh, 4))
    if length > _MAX_HEADER:
        raise _damaged(_("header"))
    header_bytes = _read_exactly(fh, length)
    if hashlib.sha256(header_bytes).digest() != _read_exactly(fh, 32):
        raise _damaged(_("header"))
    try:
        header = json.loads(header_bytes)
        if not isinstance(header, dict) or not isinstance(header.get("format"), int):
            raise ValueError
    except ValueError as exc:
        raise _damaged(_("header")) from exc
    if header["format"] > FORMAT_VERSION:
        raise _newer()
    return header, header_bytes


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


@dataclass
class Verified:
    """What the first pass over a sealed file found: its header, its content key and the hash of its
    body, checked against the sender's signature. The second pass (payload) reads it again."""

    header: dict
    header_bytes: bytes
    key: bytes
    body_hash: bytes


def _open_header(fh: BinaryIO, me: Identity | None, passphrase: str | None,
                 check_sender: Callable[[dict], bytes]) -> tuple[dict, bytes, bytes, bytes]:
    header, header_bytes = read_header_from(fh)
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
    return header, header_bytes, key, sign_public


def _body_chunks(fh: BinaryIO, header: dict, header_bytes: bytes, key: bytes, out: dict) -> Iterator[bytes]:
    """The decrypted body chunks after the header, each authenticated; out["signature"] and
    out["body_hash"] are set once the final chunk was read. fh must stand at the first chunk."""
    prefix = unb64(header["nonce_prefix"])
    header_hash = hashlib.sha256(header_bytes).digest()
    aead = ChaCha20Poly1305(key)
    body_hash = hashlib.sha256()
    index = 0
    while True:
        head = fh.read(4)
        if len(head) < 4:
            raise _truncated()
        (length,) = _U32.unpack(head)
        if length > CHUNK_SIZE + 16 or length < 16:
            raise _damaged(_("part {n}").format(n=index + 1))
        chunk = _read_exactly(fh, length)
        try:
            plain = aead.decrypt(_nonce(prefix, index, False), chunk, header_hash)
        except InvalidTag:
            try:
                out["signature"] = aead.decrypt(_nonce(prefix, index, True), chunk, header_hash)
            except InvalidTag as exc:
                raise _damaged(_("part {n}").format(n=index + 1)) from exc
            break
        body_hash.update(plain)
        index += 1
        yield plain
    if fh.read(1):
        raise _damaged(_("extra data after the end"))
    out["body_hash"] = body_hash.digest()


PIECE = 1 << 22  # at most this much decompressed payload at a time


def _inflate(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Decompress the body chunk by chunk, in pieces of at most PIECE bytes."""
    z = zlib.decompressobj()
    try:
        for chunk in chunks:
            data = chunk
            while data:
                piece = z.decompress(data, PIECE)
                data = z.unconsumed_tail
                if piece:
                    yield piece
                if z.eof and (data or z.unused_data):
                    raise _damaged(_("content"))
        tail = z.flush()
        if tail:
            yield tail
        if not z.eof:
            raise _damaged(_("content"))
    except zlib.error as exc:
        raise _damaged(_("content")) from exc


def _guarded(pieces: Iterator[bytes], out: dict) -> Iterator[bytes]:
    try:
        yield from pieces
    except SyncError:
        out["broken"] = True
        raise


def verify_sealed(fh: BinaryIO, *, me: Identity | None, passphrase: str | None,
                  check_sender: Callable[[dict], bytes],
                  consume: Callable[[Iterator[bytes]], Any] | None = None) -> tuple[Verified, Any]:
    """The first pass: read the whole file, authenticating every chunk and checking the sender's
    signature over the body; raises SyncError otherwise. consume(pieces) is handed the decompressed
    payload as an iterator of pieces, to check its content on the way (nothing may be applied from
    it before this returns); what it returns is returned beside the Verified. Memory stays at a few
    chunks whatever the size of the file. A bad signature is reported before a content problem."""
    header, header_bytes, key, sign_public = _open_header(fh, me, passphrase, check_sender)
    out: dict = {}
    pieces = _guarded(_inflate(_body_chunks(fh, header, header_bytes, key, out)), out)
    result = None
    problem: SyncError | None = None
    try:
        if consume is not None:
            result = consume(pieces)
    except SyncError as exc:
        if out.get("broken"):
            raise  # the file itself: cut off or damaged
        problem = exc  # the content is bad; but first: is the file whole and signed?
    for _piece in pieces:
        pass
    header_hash = hashlib.sha256(header_bytes).digest()
    try:
        Ed25519PublicKey.from_public_bytes(sign_public).verify(out["signature"], header_hash + out["body_hash"])
    except InvalidSignature as exc:
        raise SyncError(_("The bundle's signature is not valid: it was not sent by the device it "
                          "names. Nothing was imported.")) from exc
    if problem is not None:
        raise problem
    return Verified(header, header_bytes, key, out["body_hash"]), result


def payload(fh: BinaryIO, verified: Verified) -> Iterator[bytes]:
    """The second pass: the decompressed payload of a file verify_sealed accepted, piece by piece.

    Every chunk is authenticated again, and at the end the body must be the very one that was
    verified (a file changed between the passes raises SyncError: the caller's transaction then
    rolls back, so nothing of it stays)."""
    header, header_bytes = read_header_from(fh)
    if header_bytes != verified.header_bytes:
        raise _changed()
    out: dict = {}
    yield from _inflate(_body_chunks(fh, header, header_bytes, verified.key, out))
    if out.get("body_hash") != verified.body_hash:
        raise _changed()


def _changed() -> SyncError:
    return SyncError(_("The bundle file changed while it was being imported (was the stick removed or the "
                       "file replaced?). Nothing was imported; import it again."))


def open_sealed(data: bytes, *, me: Identity | None, passphrase: str | None,
                check_sender: Callable[[dict], bytes]) -> Opened:
    """Verify and decrypt a whole bundle held in memory; raises SyncError before returning anything otherwise.

    check_sender(header) returns the trusted signing key of the sender or raises SyncError.
    """
    verified, body = verify_sealed(io.BytesIO(data), me=me, passphrase=passphrase, check_sender=check_sender,
                                   consume=b"".join)
    return Opened(verified.header, verified.header_bytes, body)

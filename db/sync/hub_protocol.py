"""What the desktop and the office hub agree on: signed requests, enrolment codes, certificate pins.

Every request to the hub is signed with the device's Ed25519 key (db.sync.identity) over the
method, the path, the SHA-256 of the body, the time (ms) and a random nonce; the hub refuses an
unknown or revoked device, a time outside its window and a nonce it has seen (no replay).
uvicorn does not hand TLS client certificates to the app, hence signatures, not client certs.

An enrolment code (made by `griddesk-hub enrol`) is one line of text (also shown as a QR code):
    griddesk-hub://HOST:PORT?pin=SHA256-OF-THE-CERTIFICATE&code=XXXX-XXXX-XXXX
"""

from __future__ import annotations

import hashlib
import re
import secrets
import ssl
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from db.sync.identity import SyncError, b64, unb64
from i18n import _

H_DEVICE, H_TIME, H_NONCE, H_SIG = "x-gd-device", "x-gd-time", "x-gd-nonce", "x-gd-signature"
H_HUB_TIME = "x-gd-hub-time"
WINDOW_MS = 5 * 60 * 1000
SCHEME = "griddesk-hub"


def signed_text(method: str, path: str, body: bytes, t_ms: int, nonce: str) -> bytes:
    return "\n".join(["GD-HUB-1", method.upper(), path, hashlib.sha256(body).hexdigest(), str(t_ms), nonce]).encode()


def sign_headers(sign_private, device_id: str, method: str, path: str, body: bytes, *,
                 offset_ms: int = 0) -> dict[str, str]:
    t_ms = int(time.time() * 1000) + offset_ms
    nonce = secrets.token_hex(16)
    sig = sign_private.sign(signed_text(method, path, body, t_ms, nonce))
    return {H_DEVICE: device_id, H_TIME: str(t_ms), H_NONCE: nonce, H_SIG: b64(sig)}


def verify_signature(sign_public_b64: str, headers, method: str, path: str, body: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        key = Ed25519PublicKey.from_public_bytes(unb64(sign_public_b64))
        key.verify(unb64(headers[H_SIG]), signed_text(method, path, body, int(headers[H_TIME]), headers[H_NONCE]))
        return True
    except (InvalidSignature, KeyError, ValueError):
        return False


# -- certificate pins -----------------------------------------------------------------------------

def normal_pin(text: str) -> str:
    return re.sub(r"[^0-9a-f]", "", (text or "").lower())


def cert_fingerprint(pem_or_der: str | bytes) -> str:
    der = ssl.PEM_cert_to_DER_cert(pem_or_der) if isinstance(pem_or_der, str) else pem_or_der
    return hashlib.sha256(der).hexdigest()


def show_pin(pin: str) -> str:
    pin = normal_pin(pin)
    return ":".join(pin[i:i + 2] for i in range(0, len(pin), 2)).upper()


def fetch_certificate(host: str, port: int, timeout: float = 10) -> str:
    """The hub's certificate as PEM, read without trusting it (the caller compares the pin)."""
    import socket

    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock, \
                ctx.wrap_socket(sock, server_hostname=host) as tls:
            der = tls.getpeercert(binary_form=True)
    except OSError as exc:
        raise SyncError(_("Cannot reach the office hub at {host}:{port} ({error}). Check the office network "
                          "and the address.").format(host=host, port=port, error=exc.strerror or exc)) from exc
    return ssl.DER_cert_to_PEM_cert(der)


def pinned_context(cert_pem: str) -> ssl.SSLContext:
    """TLS that trusts exactly the pinned hub certificate (self-signed; the name is not checked)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(cadata=cert_pem)
    return ctx


# -- enrolment codes ------------------------------------------------------------------------------

@dataclass
class EnrolCode:
    host: str
    port: int
    pin: str
    code: str

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def text(self) -> str:
        return f"{SCHEME}://{self.host}:{self.port}?pin={self.pin}&code={self.code}"


def make_code_text(address: str, pin: str, code: str) -> str:
    parts = urlsplit(address if "://" in address else f"https://{address}")
    return EnrolCode(parts.hostname or "", parts.port or 8443, normal_pin(pin), code).text()


def parse_code(text: str) -> EnrolCode:
    text = (text or "").strip()
    try:
        parts = urlsplit(text)
        if parts.scheme != SCHEME or not parts.hostname:
            raise ValueError
        query = parse_qs(parts.query)
        pin = normal_pin(query["pin"][0])
        code = query["code"][0].strip().upper()
        if len(pin) != 64 or len(re.sub(r"[^A-Z0-9]", "", code)) != 12:
            raise ValueError
        return EnrolCode(parts.hostname, parts.port or 8443, pin, code)
    except (ValueError, KeyError, IndexError) as exc:
        raise SyncError(_("This is not an office enrolment code. It starts with “griddesk-hub://” and holds the "
                          "hub address, the certificate pin and the code; ask the office for it.")) from exc

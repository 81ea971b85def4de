"""This device's keys and the devices it trusts.

Each database file gets its own Ed25519 signing key (who sent a bundle) and X25519 key (bundles
encrypted to it), generated on first use and stored locally. A device id is derived from the
signing key, so it cannot be claimed without the key. Devices are trusted by exchanging "device
cards" (public keys only) and comparing the fingerprint; revocation is recorded, never deleted.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import socket
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from db.models.sync import DeviceKey, TrustedDevice
from db.sync.errors import SyncError
from i18n import _

CARD_FORMAT = "griddesk-device-card"
_RAW = serialization.Encoding.Raw
_RAW_PUB = serialization.PublicFormat.Raw
_RAW_PRIV = serialization.PrivateFormat.Raw


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def now_iso() -> str:
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


def device_id_for(sign_public: bytes) -> str:
    return hashlib.sha256(b"griddesk-device:" + sign_public).hexdigest()[:16]


def fingerprint(device_id: str) -> str:
    """The device id in groups of four, easy to read aloud and compare."""
    return "-".join(device_id[i:i + 4] for i in range(0, len(device_id), 4)).upper()


@dataclass
class Identity:
    device_id: str
    name: str
    sign_private: Ed25519PrivateKey
    sign_public: bytes
    box_private: X25519PrivateKey
    box_public: bytes

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.device_id)

    def card(self) -> dict:
        return {"format": CARD_FORMAT, "version": 1, "device_id": self.device_id, "name": self.name,
                "sign_public": b64(self.sign_public), "box_public": b64(self.box_public)}


def _grid_worker(store) -> str | None:
    """The grid worker of this database when it holds exactly one (a grid worker's laptop)."""
    try:
        workers = {w.strip() for (w,) in store.db.execute_sql(
            "select distinct worker from grid where deleted = 0 and worker is not null and trim(worker) != ''")}
    except Exception:  # noqa: BLE001 - an older schema without the register: fall back to the login
        return None
    return workers.pop() if len(workers) == 1 else None


def default_name(store, device_id: str) -> str:
    """A name a person recognises and that differs between databases: 张伟的电脑-38D6."""
    who = _grid_worker(store) or store.user or "GridDesk"
    return _("{who}'s computer-{fp}").format(who=who, fp=fingerprint(device_id)[:4])


def _looks_default(name: str | None, device_id: str) -> bool:
    if not name:
        return True
    legacy = name.endswith("@" + socket.gethostname())  # the old login@hostname default
    return legacy or name.endswith("-" + fingerprint(device_id)[:4])


def name_is_default(store) -> bool:
    """True while this device still has a made-up name the person has not confirmed or chosen."""
    if store.get_meta("device_name_chosen"):
        return False
    me = identity(store)
    return _looks_default(me.name, me.device_id)


def identity(store) -> Identity:
    """This database's device identity, created on first use."""
    with store.activated():
        row = DeviceKey.select().where(DeviceKey.current == 1).first()
        if row is None:
            sign = Ed25519PrivateKey.generate()
            box = X25519PrivateKey.generate()
            sign_pub = sign.public_key().public_bytes(_RAW, _RAW_PUB)
            with store.db.atomic():
                row = DeviceKey.create(
                    device_id=device_id_for(sign_pub), name=default_name(store, device_id_for(sign_pub)),
                    sign_private=b64(sign.private_bytes(_RAW, _RAW_PRIV, serialization.NoEncryption())),
                    sign_public=b64(sign_pub),
                    box_private=b64(box.private_bytes(_RAW, _RAW_PRIV, serialization.NoEncryption())),
                    box_public=b64(box.public_key().public_bytes(_RAW, _RAW_PUB)),
                    created_at=now_iso(), current=1)
        if (row.name or "").endswith("@" + socket.gethostname()) and not store.get_meta("device_name_chosen"):
            # The old default (login@hostname) is the same on every laptop: give it a telling one.
            row.name = default_name(store, row.device_id)
            DeviceKey.update(name=row.name).where(DeviceKey.device_id == row.device_id).execute()
    return Identity(row.device_id, row.name or "", Ed25519PrivateKey.from_private_bytes(unb64(row.sign_private)),
                    unb64(row.sign_public), X25519PrivateKey.from_private_bytes(unb64(row.box_private)),
                    unb64(row.box_public))


def rename_device(store, name: str) -> None:
    """Give this device a name (it travels in the bundles it sends; receivers update their list)."""
    name = name.strip()
    if not name:
        raise SyncError(_("The device name cannot be empty."))
    identity(store)
    with store.activated():
        DeviceKey.update(name=name).where(DeviceKey.current == 1).execute()
    store.set_meta(device_name_chosen="1")


def write_card(store, path: Path) -> Path:
    """This device's public keys as a small JSON file to hand to the office or a colleague."""
    from db.sync.usb import safe_write

    data = json.dumps(identity(store).card(), ensure_ascii=False, indent=1).encode("utf-8")
    return safe_write(Path(path), data)


def read_card(data: bytes | str) -> dict:
    try:
        card = json.loads(data)
        if card.get("format") != CARD_FORMAT:
            raise ValueError
        sign_pub = unb64(card["sign_public"])
        box_pub = unb64(card["box_public"])
        Ed25519PublicKey.from_public_bytes(sign_pub)
        X25519PublicKey.from_public_bytes(box_pub)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SyncError(_("This file is not a GridDesk device card.")) from exc
    if device_id_for(sign_pub) != card.get("device_id"):
        raise SyncError(_("The device card is damaged: its device id does not match its key."))
    return card


def trust_device(store, card: dict, *, is_office: bool = False, name: str | None = None) -> TrustedDevice:
    """Trust a device (or re-trust a revoked one) from its card; returns the record."""
    card = read_card(json.dumps(card)) if isinstance(card, dict) else read_card(card)
    me = identity(store)
    if card["device_id"] == me.device_id:
        raise SyncError(_("This is the card of this device itself."))
    with store.activated(), store.db.atomic():
        existing = TrustedDevice.get_or_none(TrustedDevice.device_id == card["device_id"])
        values = {"name": name or card.get("name") or "", "sign_public": card["sign_public"],
                  "box_public": card["box_public"], "is_office": int(is_office), "added_at": now_iso(),
                  "added_by": store.user, "revoked_at": None, "revoked_by": None}
        if existing is None:
            TrustedDevice.create(device_id=card["device_id"], **values)
        else:
            TrustedDevice.update(**values).where(TrustedDevice.device_id == card["device_id"]).execute()
        return TrustedDevice.get(TrustedDevice.device_id == card["device_id"])


def revoke_device(store, device_id: str) -> None:
    with store.activated(), store.db.atomic():
        n = (TrustedDevice.update(revoked_at=now_iso(), revoked_by=store.user)
             .where(TrustedDevice.device_id == device_id).execute())
    if not n:
        raise SyncError(_("No trusted device with id {device}.").format(device=fingerprint(device_id)))


def trusted_devices(store, *, include_revoked: bool = True) -> list[dict]:
    with store.activated():
        query = TrustedDevice.select().order_by(TrustedDevice.name)
        if not include_revoked:
            query = query.where(TrustedDevice.revoked_at.is_null())
        return [{"device_id": d.device_id, "fingerprint": fingerprint(d.device_id), "name": d.name,
                 "is_office": bool(d.is_office), "added_at": d.added_at, "revoked_at": d.revoked_at,
                 "box_public": d.box_public, "sign_public": d.sign_public} for d in query]


def find_device(store, text: str) -> dict:
    """A trusted device by id, fingerprint or name (for --for DEVICE)."""
    key = text.replace("-", "").strip().lower()
    found = [d for d in trusted_devices(store)
             if d["device_id"] == key or (d["name"] or "").strip() == text.strip()]
    if not found:
        raise SyncError(_("No trusted device “{device}”. Add its device card first.").format(device=text))
    if len(found) > 1:
        raise SyncError(_("Several trusted devices are called “{device}”; use the device id.").format(device=text))
    return found[0]

"""The key file beside an encrypted database (name.sqlite.keys): the database key, wrapped.

The database key (32 random bytes) is stored only wrapped (AES-256-GCM) by a key derived with
argon2id from each account's password, and once more by the office recovery key. The file holds
no personal data: login names, salts, wrapped keys, and the count of failed logins (for the
growing delay; the data itself is never locked out). It is replaced atomically (write, fsync,
rename). Whoever knows one password can unwrap the key: roles are enforced by the application.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from argon2.low_level import Type, hash_secret_raw
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT = 1
# argon2id: 32 MiB, 3 passes, 2 lanes: ~0.1 s on an idle 2-core laptop, 0.25 s under load (the
# unlock target is 1 s). Each entry keeps its own parameters, so they can be raised later.
ARGON = {"t": 3, "m": 32768, "p": 2}
RECOVERY_GROUPS = 8  # 8 groups of 4 base32 characters: 160 bits


def path_for(db_path: Path) -> Path:
    db_path = Path(db_path)
    return db_path.with_name(db_path.name + ".keys")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"))


def derive(secret: str, salt: bytes, params: dict) -> bytes:
    return hash_secret_raw(secret.encode("utf-8"), salt, time_cost=params["t"], memory_cost=params["m"],
                           parallelism=params["p"], hash_len=32, type=Type.ID)


def wrap(db_key: bytes, secret: str, label: str) -> dict:
    salt = secrets.token_bytes(16)
    kek = derive(secret, salt, ARGON)
    nonce = secrets.token_bytes(12)
    return {"salt": _b64(salt), **ARGON, "nonce": _b64(nonce),
            "wrapped": _b64(AESGCM(kek).encrypt(nonce, db_key, f"griddesk|{label}".encode()))}


def unwrap(entry: dict, secret: str, label: str) -> bytes | None:
    """The database key, or None when the secret is wrong."""
    from cryptography.exceptions import InvalidTag

    kek = derive(secret, _unb64(entry["salt"]), entry)
    try:
        return AESGCM(kek).decrypt(_unb64(entry["nonce"]), _unb64(entry["wrapped"]), f"griddesk|{label}".encode())
    except InvalidTag:
        return None


def _tag(db_key: bytes, *parts: str) -> str:
    return hmac.new(db_key, "|".join(("profile", *parts)).encode("utf-8"), hashlib.sha256).hexdigest()


def new_recovery_key() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(RECOVERY_GROUPS))


def normalize_recovery_key(text: str) -> str:
    raw = "".join(c for c in (text or "").upper() if c.isalnum())
    return "-".join(raw[i:i + 4] for i in range(0, len(raw), 4))


@dataclass
class KeyFile:
    path: Path
    data: dict

    @classmethod
    def new(cls, db_path: Path) -> KeyFile:
        return cls(path_for(db_path), {"format": FORMAT, "cipher": "sqlcipher4", "users": {},
                                      "recovery": None, "failures": {}, "failed_log": []})

    @classmethod
    def load(cls, db_path: Path) -> KeyFile | None:
        path = path_for(db_path)
        if not path.is_file():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        for key, default in (("failures", {}), ("failed_log", []), ("users", {})):
            data.setdefault(key, default)
        return cls(path, data)

    def save(self) -> None:
        tmp = self.path.with_name(self.path.name + ".new")
        with tmp.open("w", encoding="utf-8") as fh:
            json.dump(self.data, fh, indent=1, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)

    # -- wrapped keys ---------------------------------------------------------------------------
    def set_password(self, login: str, password: str, db_key: bytes) -> None:
        profile = (self.data["users"].get(login) or {}).get("profile")
        self.data["users"][login] = wrap(db_key, password, "user:" + login)
        if profile:
            self.data["users"][login]["profile"] = profile

    def set_profile(self, login: str, db_key: bytes, *, role: str, grid_ids: str, display_name: str) -> None:
        """A copy of the account's role beside its wrapped key, authenticated with the database key:
        a restored backup from before the account existed does not lock its owner out."""
        entry = self.data["users"].get(login)
        if entry is not None:
            entry["profile"] = {"role": role, "grid_ids": grid_ids, "display_name": display_name,
                                "tag": _tag(db_key, login, role, grid_ids, display_name)}

    def profile(self, login: str, db_key: bytes) -> dict | None:
        p = (self.data["users"].get(login) or {}).get("profile")
        if not p or not hmac.compare_digest(p.get("tag", ""), _tag(db_key, login, p.get("role", ""),
                                                                  p.get("grid_ids", ""), p.get("display_name", ""))):
            return None
        return p

    def remove_user(self, login: str) -> None:
        self.data["users"].pop(login, None)

    def set_recovery(self, recovery_key: str, db_key: bytes) -> None:
        self.data["recovery"] = wrap(db_key, normalize_recovery_key(recovery_key), "recovery")

    def unlock(self, login: str, password: str) -> bytes | None:
        entry = self.data["users"].get(login)
        if entry is None:
            # The same work as a real attempt: an unknown name is not told apart by its speed.
            derive(password, b"0" * 16, ARGON)
            return None
        return unwrap(entry, password, "user:" + login)

    def unlock_recovery(self, recovery_key: str) -> bytes | None:
        entry = self.data.get("recovery")
        return unwrap(entry, normalize_recovery_key(recovery_key), "recovery") if entry else None

    # -- failed logins --------------------------------------------------------------------------
    def failures(self, login: str) -> tuple[int, str | None]:
        f = self.data["failures"].get(login) or {}
        return int(f.get("n", 0)), f.get("last")

    def record_failure(self, login: str, now: dt.datetime) -> int:
        n, _last = self.failures(login)
        self.data["failures"][login] = {"n": n + 1, "last": now.isoformat(timespec="seconds")}
        self.data["failed_log"] = (self.data["failed_log"] + [{"at": now.isoformat(timespec="seconds"),
                                                                "login": login}])[-500:]
        return n + 1

    def clear_failures(self, login: str) -> list[dict]:
        """Forget the login's failure count; returns (and drops) the failed attempts not yet audited."""
        self.data["failures"].pop(login, None)
        pending, self.data["failed_log"] = self.data["failed_log"], []
        return pending

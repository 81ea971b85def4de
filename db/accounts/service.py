"""Accounts of this laptop: the first administrator, login, users, passwords, recovery.

The first account turns a plain database into an encrypted one (a backup first, then
sqlcipher_export); from then on the file opens only with a password (or the recovery key).
A database without accounts keeps working as it always did.

Every function that changes accounts is one service: keyword-only arguments, one transaction,
and it checks the caller's role (store.session) itself.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from db.accounts import audit, cipher, keyfile
from db.accounts.models import ROLE_ADMIN, ROLE_GRID, ROLES
from db.accounts.session import AccessDenied, Session, bind, require_admin
from db.errors import GridDeskError, ValidationError
from i18n import _

MIN_PASSWORD = 8
FREE_FAILURES = 3  # the first three wrong passwords cost nothing extra
MAX_DELAY_S = 300


class LoginFailed(GridDeskError):
    """A wrong login name or password; `delay_s` says how long until the next try is accepted."""

    def __init__(self, message: str, delay_s: float = 0.0):
        super().__init__(message)
        self.delay_s = delay_s


def has_accounts(db_path: Path) -> bool:
    """Whether the database at db_path needs a login (its key file exists)."""
    return keyfile.path_for(Path(db_path)).is_file()


def delay_after(failures: int) -> float:
    """Seconds to wait before the next attempt after `failures` wrong passwords in a row:
    0 for the first three, then 2, 4, 8 … up to five minutes. The data is never locked."""
    if failures < FREE_FAILURES:
        return 0.0
    return float(min(MAX_DELAY_S, 2 ** (failures - FREE_FAILURES + 1)))


def wait_remaining(db_path: Path, login: str, now: dt.datetime | None = None) -> float:
    kf = keyfile.KeyFile.load(Path(db_path))
    if kf is None:
        return 0.0
    n, last = kf.failures(login)
    if not last:
        return 0.0
    now = now or dt.datetime.now()
    ready = dt.datetime.fromisoformat(last) + dt.timedelta(seconds=delay_after(n))
    return max(0.0, (ready - now).total_seconds())


def _check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise ValidationError(_("The password must have at least {n} characters.").format(n=MIN_PASSWORD),
                              field="password")


def _check_login(login: str) -> str:
    login = (login or "").strip()
    if not login or len(login) > 40 or any(c in login for c in ",|\n\t"):
        raise ValidationError(_("Enter a login name of 1 to 40 characters (no commas)."), field="login")
    return login


def _profile_to_keyfile(store, kf: keyfile.KeyFile, login: str) -> None:
    row = store.db.execute_sql("select role, grid_ids, display_name from account where login = ?",
                               (login,)).fetchone()
    if row is not None:
        kf.set_profile(login, store.key, role=row[0], grid_ids=row[1] or "", display_name=row[2] or "")


def _session_for(store, login: str) -> Session:
    row = store.db.execute_sql("select role, grid_ids, display_name, disabled from account where login = ?",
                               (login,)).fetchone()
    if row is None and store.key is not None:
        # A restored backup older than this account: its role comes back from the key file.
        kf = keyfile.KeyFile.load(store.path)
        p = kf.profile(login, store.key) if kf is not None else None
        if p is not None:
            with store.db.atomic():
                store.db.execute_sql("insert into account(login, display_name, role, grid_ids, created_at) "
                                     "values(?, ?, ?, ?, ?)", (login, p["display_name"], p["role"], p["grid_ids"],
                                                               dt.datetime.now().isoformat(timespec="seconds")))
            row = (p["role"], p["grid_ids"], p["display_name"], 0)
    if row is None or row[3]:
        raise LoginFailed(_("This account no longer exists on this laptop."))
    grids = frozenset(g for g in (row[1] or "").split(",") if g)
    return Session(login=login, role=row[0], grid_ids=grids, display_name=row[2] or "")


@dataclass
class Unlocked:
    key: bytes
    login: str
    failed: list[dict]  # failed attempts since the last successful login (to audit)
    seconds: float  # time the key derivation took


def unlock(db_path: Path, *, login: str, password: str, now: dt.datetime | None = None) -> Unlocked:
    """Unwrap the database key with a password. A wrong one raises LoginFailed and the wait before
    the next try grows; a try during the wait is refused without checking the password."""
    db_path = Path(db_path)
    now = now or dt.datetime.now()
    kf = keyfile.KeyFile.load(db_path)
    if kf is None:
        raise GridDeskError(_("This database has no accounts."))
    login = (login or "").strip()
    wait = wait_remaining(db_path, login, now)
    if wait > 0:
        raise LoginFailed(_("Too many wrong passwords. Try again in {s} seconds.").format(s=int(wait + 0.999)),
                          wait)
    t0 = time.perf_counter()
    key = kf.unlock(login, password)
    seconds = time.perf_counter() - t0
    if key is None:
        n = kf.record_failure(login, now)
        kf.save()
        delay = delay_after(n)
        msg = _("Wrong login name or password.")
        if delay:
            msg += _(" Wait {s} seconds before the next try.").format(s=int(delay))
        raise LoginFailed(msg, delay)
    failed = kf.clear_failures(login)
    kf.save()
    return Unlocked(key, login, failed, seconds)


def open_store(db_path: Path, *, login: str, password: str, user_override: str | None = None):
    """Log in: unlock the key, open the encrypted database, bind the session, audit the login."""
    from db.store import Store

    unlocked = unlock(db_path, login=login, password=password)
    store = Store(db_path, user=user_override or unlocked.login, key=unlocked.key, create=False)
    try:
        start_session(store, unlocked)
    except LoginFailed:
        store.close()
        raise
    return store


def start_session(store, unlocked: Unlocked) -> Session:
    """Bind the logged-in account to an opened store and audit the login (and the failed tries)."""
    session = _session_for(store, unlocked.login)
    bind(store, session)
    audit.record_logins(store, login=unlocked.login, failed=unlocked.failed)
    return session


def unlock_session(store, *, password: str) -> Session:
    """Unlock the locked screen: the same password check, the store stays open."""
    session = store.session
    unlocked = unlock(store.path, login=session.login, password=password)
    if unlocked.key != store.key:
        raise LoginFailed(_("Wrong login name or password."))
    audit.record_logins(store, login=session.login, failed=unlocked.failed, action="unlock")
    return session


def create_first_admin(store, *, login: str, password: str, display_name: str = "", progress=None):
    """Create the first account (a 社区管理员) and encrypt the database with a new random key.

    A backup of the plain database is made first; every existing backup is then encrypted too.
    Returns (the re-opened encrypted Store, the recovery key to print and keep in the office).
    The store given is closed.
    """
    from db.backup import list_backups, make_backup
    from db.store import Store

    login = _check_login(login)
    _check_password(password)
    if has_accounts(store.path) or store.key is not None:
        raise GridDeskError(_("This database already has accounts."))
    path, user = store.path, login
    make_backup(store, "encrypt", incremental=False)
    db_key = secrets.token_bytes(32)
    recovery = keyfile.new_recovery_key()
    with store.db.atomic():
        store.db.execute_sql("insert into account(login, display_name, role, grid_ids, created_at) "
                             "values(?, ?, ?, '', ?)", (login, display_name or login, ROLE_ADMIN,
                                                        dt.datetime.now().isoformat(timespec="seconds")))
    store.db.execute_sql("pragma wal_checkpoint(TRUNCATE)")
    store.close()
    kf = keyfile.KeyFile.new(path)
    kf.set_password(login, password, db_key)
    kf.set_profile(login, db_key, role=ROLE_ADMIN, grid_ids="", display_name=display_name or login)
    kf.set_recovery(recovery, db_key)
    kf.save()  # first: a crash from here on leaves a plain file that prepare() encrypts on next open
    cipher.encrypt_in_place(path, db_key, progress)
    cipher.remember_key(path, db_key)
    for backup in list_backups(path):
        encrypt_backup_file(backup, db_key, db_path=path)
    from db.backup_container import seal_local_key

    seal_local_key(path, db_key)  # the plain database's backup key: from now on kept only wrapped
    new = Store(path, user=user, key=db_key, create=False)
    bind(new, _session_for(new, login))
    audit.record(new, action="accounts_created", detail=login)
    return new, recovery


def encrypt_backup_file(backup: Path, db_key: bytes, *, db_path: Path) -> None:
    """Encrypt a plain backup in place (no plain copy of the register stays behind); a compressed
    backup gets its data key wrapped with the database's key (db.backup_files.protect_backup)."""
    from db.backup_files import protect_backup

    protect_backup(backup, db_key, db_path=db_path)


def list_users(store) -> list[dict]:
    require_admin(store)
    keys = ("login", "display_name", "role", "grid_ids", "created_at", "disabled")
    rows = store.db.execute_sql(f"select {','.join(keys)} from account order by login").fetchall()
    return [dict(zip(keys, r, strict=True)) for r in rows]


def _check_role(role: str, grid_ids) -> str:
    if role not in ROLES:
        raise ValidationError(_("Unknown role “{role}”.").format(role=role), field="role")
    grids = [g for g in (grid_ids or []) if g]
    if role == ROLE_GRID and not grids:
        raise ValidationError(_("A grid worker needs at least one grid."), field="grids")
    return ",".join(sorted(set(grids))) if role == ROLE_GRID else ""


def add_user(store, *, login: str, password: str, role: str, grid_ids=(), display_name: str = "") -> None:
    require_admin(store)
    login = _check_login(login)
    _check_password(password)
    grids = _check_role(role, grid_ids)
    kf = keyfile.KeyFile.load(store.path)
    if kf is None or store.key is None:
        raise GridDeskError(_("Create the administrator account first."))
    exists = store.db.execute_sql("select 1 from account where login = ?", (login,)).fetchone()
    if exists:
        raise ValidationError(_("There is already an account “{login}”.").format(login=login), field="login")
    with store.db.atomic():
        store.db.execute_sql("insert into account(login, display_name, role, grid_ids, created_at) "
                             "values(?, ?, ?, ?, ?)", (login, display_name or login, role, grids,
                                                       dt.datetime.now().isoformat(timespec="seconds")))
        kf.set_password(login, password, store.key)
        _profile_to_keyfile(store, kf, login)
        kf.save()
        audit.record(store, action="user_added", detail=f"{login} {role}")


def set_role(store, *, login: str, role: str, grid_ids=()) -> None:
    me = require_admin(store)
    grids = _check_role(role, grid_ids)
    if me is not None and login == me.login and role != ROLE_ADMIN:
        raise AccessDenied(_("You cannot take away your own administrator role."))
    with store.db.atomic():
        cur = store.db.execute_sql("update account set role = ?, grid_ids = ? where login = ?", (role, grids, login))
        if cur.rowcount == 0:
            raise ValidationError(_("There is no account “{login}”.").format(login=login), field="login")
        kf = keyfile.KeyFile.load(store.path)
        if kf is not None and store.key is not None:
            _profile_to_keyfile(store, kf, login)
            kf.save()
        audit.record(store, action="user_changed", detail=f"{login} {role} {grids}")


def remove_user(store, *, login: str) -> None:
    me = require_admin(store)
    if me is not None and login == me.login:
        raise AccessDenied(_("You cannot remove your own account."))
    kf = keyfile.KeyFile.load(store.path)
    with store.db.atomic():
        store.db.execute_sql("delete from account where login = ?", (login,))
        if kf is not None:
            kf.remove_user(login)
            kf.save()
        audit.record(store, action="user_removed", detail=login)


def change_password(store, *, old_password: str, new_password: str) -> None:
    """The logged-in user changes their own password (the old one is checked)."""
    session = store.session
    if session is None:
        raise GridDeskError(_("This database has no accounts."))
    _check_password(new_password)
    kf = keyfile.KeyFile.load(store.path)
    if kf.unlock(session.login, old_password) != store.key:
        raise LoginFailed(_("The current password is wrong."))
    kf.set_password(session.login, new_password, store.key)
    kf.save()
    audit.record(store, action="password_changed", detail=session.login)


def reset_password(store, *, login: str, new_password: str) -> None:
    """An administrator sets a new password for an account (a forgotten one)."""
    require_admin(store)
    _check_password(new_password)
    if not store.db.execute_sql("select 1 from account where login = ?", (login,)).fetchone():
        raise ValidationError(_("There is no account “{login}”.").format(login=login), field="login")
    kf = keyfile.KeyFile.load(store.path)
    kf.set_password(login, new_password, store.key)
    kf.data["failures"].pop(login, None)
    kf.save()
    audit.record(store, action="password_reset", detail=login)


def recover(db_path: Path, *, recovery_key: str, login: str, new_password: str):
    """Every password forgotten: the office recovery key opens the database and sets a new password
    for an administrator account (made if it does not exist). Returns the logged-in Store."""
    from db.store import Store

    db_path = Path(db_path)
    login = _check_login(login)
    _check_password(new_password)
    kf = keyfile.KeyFile.load(db_path)
    if kf is None:
        raise GridDeskError(_("This database has no accounts."))
    key = kf.unlock_recovery(recovery_key)
    if key is None:
        n = kf.record_failure("#recovery", dt.datetime.now())
        kf.save()
        raise LoginFailed(_("This is not the recovery key of this database."), delay_after(n))
    store = Store(db_path, user=login, key=key, create=False)
    with store.db.atomic():
        store.db.execute_sql("insert into account(login, display_name, role, grid_ids, created_at) "
                             "values(?, ?, ?, '', ?) on conflict(login) do update set role = excluded.role, "
                             "disabled = 0", (login, login, ROLE_ADMIN, dt.datetime.now().isoformat(timespec="seconds")))
    kf.set_password(login, new_password, key)
    _profile_to_keyfile(store, kf, login)
    kf.data["failures"] = {}
    kf.save()
    bind(store, _session_for(store, login))
    audit.record(store, action="recovered", detail=login)
    return store

"""Who is logged in, and the checks every db/ service makes before it reads or writes.

The Store holds the Session (store.session, also reachable from its peewee database as
`db.griddesk_session` for model queries that get no store). No session: a database without
accounts, where everything is allowed as before accounts existed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from db.accounts.models import ROLE_ADMIN, ROLE_GRID, ROLE_READONLY
from db.errors import GridDeskError
from i18n import N_, _

ROLE_LABELS = {ROLE_ADMIN: N_("Community administrator"), ROLE_GRID: N_("Grid worker"),
               ROLE_READONLY: N_("Read only")}


class AccessDenied(GridDeskError):
    """The logged-in user's role does not allow this."""


@dataclass(frozen=True)
class Session:
    login: str
    role: str
    grid_ids: frozenset[str] = field(default_factory=frozenset)
    display_name: str = ""

    @property
    def is_admin(self) -> bool:
        return self.role == ROLE_ADMIN

    @property
    def grids(self) -> tuple[str, ...] | None:
        """The grids this user may see (None: all)."""
        return tuple(sorted(self.grid_ids)) if self.role == ROLE_GRID else None

    @property
    def may_write(self) -> bool:
        return self.role != ROLE_READONLY

    @property
    def may_unmask(self) -> bool:
        return self.role != ROLE_READONLY

    def role_label(self) -> str:
        return _(ROLE_LABELS.get(self.role, self.role))


def bind(store, session: Session | None) -> None:
    """Make `session` the store's current user (its login name goes into every op)."""
    store.session = session
    store.db.griddesk_session = session
    if session is not None:
        store.user = session.login


_process_sessions: dict[str, Session] = {}  # resolved path -> the account a command line logged in


def sign_in_process(path, session: Session) -> None:
    """This process logged in to the database at path (griddesk --login): every Store opened on it
    from now on carries the session (db/store.py)."""
    from pathlib import Path

    _process_sessions[str(Path(path).resolve())] = session


def process_session(path) -> Session | None:
    from pathlib import Path

    return _process_sessions.get(str(Path(path).resolve())) if _process_sessions else None


def session_of(store) -> Session | None:
    return getattr(store, "session", None)


def session_of_db(db) -> Session | None:
    return getattr(db, "griddesk_session", None)


def grid_scope(store) -> tuple[str, ...] | None:
    s = session_of(store)
    return s.grids if s is not None else None


def grid_scope_db(db) -> tuple[str, ...] | None:
    s = session_of_db(db)
    return s.grids if s is not None else None


def require_admin(store) -> Session | None:
    s = session_of(store)
    if s is not None and not s.is_admin:
        raise AccessDenied(_("Only a community administrator may do this."))
    return s


def require_write(store) -> None:
    s = session_of(store)
    if s is not None and not s.may_write:
        raise AccessDenied(_("A read-only account cannot change the register."))


def require_unmasked(store) -> None:
    s = session_of(store)
    if s is not None and not s.may_unmask:
        raise AccessDenied(_("A read-only account sees ID and phone numbers masked only."))


def _marks(values) -> str:
    return ",".join("?" * len(values))


def person_visible(store, person_id: str) -> bool:
    grids = grid_scope(store)
    if grids is None:
        return True
    if not grids:
        return False
    row = store.db.execute_sql(
        "select 1 from membership m join household h on h.id = m.household_id "
        f"where m.person_id = ? and m.deleted = 0 and h.grid_id in ({_marks(grids)}) limit 1",
        (person_id, *grids)).fetchone()
    return row is not None


def household_visible(store, household_id: str) -> bool:
    grids = grid_scope(store)
    if grids is None:
        return True
    row = store.db.execute_sql("select grid_id from household where id = ?", (household_id,)).fetchone()
    return row is not None and row[0] in grids


def require_person(store, person_id: str) -> None:
    if not person_visible(store, person_id):
        raise AccessDenied(_("This person lives outside your grids; you cannot open their record."))


def require_household(store, household_id: str) -> None:
    if not household_visible(store, household_id):
        raise AccessDenied(_("This household is outside your grids; you cannot open it."))


def grid_sql(column: str, grids: tuple[str, ...]) -> tuple[str, list[str]]:
    """A predicate `column in (grids)` and its parameters (an empty tuple matches nothing)."""
    if not grids:
        return "0", []
    return f"{column} in ({_marks(grids)})", list(grids)

"""Accounts: first admin encrypts the file, login, wrong passwords, roles enforced by db/ services."""

from __future__ import annotations

import datetime as dt

import pytest

from db.accounts import cipher, service
from db.accounts.models import ROLE_GRID, ROLE_READONLY
from db.accounts.session import AccessDenied
from db.errors import DatabaseOpenError, GridDeskError
from db.store import Store

PASSWORD = "correct horse 1"


@pytest.fixture
def demo_path(tmp_path):
    from db.demo import generate
    from db.register.households import update_household
    from db.register.places import save_place

    path = tmp_path / "gd.sqlite"
    store = Store(path, user="setup")
    generate(store, households=40, seed=3)
    # A second grid with every other household.
    change = save_place(store, level="grid", name="第二网格")[0]
    homes = [r[0] for r in store.db.execute_sql("select id from household order by id")]
    for home in homes[::2]:
        update_household(store, household_id=home, values={"grid_id": change.row_id})
    store.close()
    return path


@pytest.fixture
def admin(demo_path):
    store = Store(demo_path, user="setup")
    new, recovery = service.create_first_admin(store, login="admin", password=PASSWORD, display_name="王主任")
    new.recovery_key = recovery
    yield new
    new.close()


def _grids(store):
    return [r[0] for r in store.db.execute_sql("select id from grid where deleted = 0 order by name")]


def _reopen(path, login, password):
    cipher.forget_key(path)
    return service.open_store(path, login=login, password=password)


def test_plain_database_without_accounts_opens_as_before(demo_path):
    assert not service.has_accounts(demo_path)
    store = Store(demo_path)
    assert store.key is None and store.session is None
    assert store.db.execute_sql("select count(*) from person").fetchone()[0] > 0
    store.close()


def test_first_admin_encrypts_and_only_the_password_opens(admin):
    path = admin.path
    count = admin.db.execute_sql("select count(*) from person").fetchone()[0]
    admin.close()
    assert cipher.is_encrypted_file(path)
    cipher.forget_key(path)
    with pytest.raises(DatabaseOpenError):
        Store(path)  # no key: locked
    with pytest.raises(service.LoginFailed):
        service.open_store(path, login="admin", password="wrong password")
    with pytest.raises(DatabaseOpenError):
        Store(path, key=b"\x01" * 32)  # a wrong key cannot open it
    store = service.open_store(path, login="admin", password=PASSWORD)
    assert store.db.execute_sql("select count(*) from person").fetchone()[0] == count
    assert store.session.is_admin and store.user == "admin"
    store.close()


def test_wrong_passwords_make_the_delay_grow_but_never_lock_the_data(admin):
    path = admin.path
    admin.close()
    cipher.forget_key(path)
    t0 = dt.datetime(2026, 12, 1, 9, 0, 0)
    delays = []
    for i in range(5):
        with pytest.raises(service.LoginFailed) as err:
            service.unlock(path, login="admin", password=f"bad{i}xxxxx", now=t0 + dt.timedelta(minutes=10 * i))
        delays.append(err.value.delay_s)
    assert delays[:2] == [0, 0] and delays[2] > 0 and delays[4] > delays[3] > delays[2]
    last = t0 + dt.timedelta(minutes=40)
    with pytest.raises(service.LoginFailed, match="秒"):  # during the wait even the right one waits
        service.unlock(path, login="admin", password=PASSWORD, now=last + dt.timedelta(seconds=1))
    ok = service.unlock(path, login="admin", password=PASSWORD, now=last + dt.timedelta(seconds=delays[4] + 1))
    assert len(ok.failed) == 5
    # The failures are audited at the next login.
    store = Store(path, key=ok.key)
    assert service.wait_remaining(path, "admin") == 0
    store.close()


def test_recovery_key_opens_when_every_password_is_forgotten(admin):
    path, recovery = admin.path, admin.recovery_key
    admin.close()
    cipher.forget_key(path)
    with pytest.raises(service.LoginFailed):
        service.recover(path, recovery_key="AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG-HHHH", login="admin",
                        new_password="new password 2")
    store = service.recover(path, recovery_key=recovery.lower().replace("-", " "), login="admin",
                            new_password="new password 2")
    store.close()
    store = _reopen(path, "admin", "new password 2")
    store.close()


def test_password_change_and_admin_reset(admin):
    grids = _grids(admin)
    service.add_user(admin, login="li", password="li password", role=ROLE_GRID, grid_ids=grids[:1])
    service.reset_password(admin, login="li", new_password="reset password")
    path = admin.path
    admin.close()
    li = _reopen(path, "li", "reset password")
    with pytest.raises(service.LoginFailed):
        service.change_password(li, old_password="nope nope", new_password="mine mine 3")
    service.change_password(li, old_password="reset password", new_password="mine mine 3")
    with pytest.raises(AccessDenied):
        service.reset_password(li, login="admin", new_password="taken over")
    with pytest.raises(AccessDenied):
        service.add_user(li, login="x", password="xxxxxxxxxx", role="admin")
    li.close()
    _reopen(path, "li", "mine mine 3").close()


def test_grid_worker_cannot_read_another_grids_person_through_any_service(admin, tmp_path):
    from db.ledger.export import PeopleFilter, count_people, export_people, iter_people
    from db.printing_data import household_forms, register_list
    from db.register.audit import reveal
    from db.register.households import get_household, household_members
    from db.register.index import ensure_index
    from db.register.persons import get_person, save_person
    from db.register.search import Filters, fetch_rows, search_ids

    grids = _grids(admin)
    assert len(grids) >= 2
    mine, other = grids[0], grids[1]
    ensure_index(admin)
    other_person, other_name, other_home = admin.db.execute_sql(
        "select p.id, p.name, h.id from person p join membership m on m.person_id = p.id and m.until is null "
        "join household h on h.id = m.household_id where h.grid_id = ? limit 1", (other,)).fetchone()
    everyone = count_people(admin)
    service.add_user(admin, login="li", password="li password", role=ROLE_GRID, grid_ids=[mine])
    path = admin.path
    admin.close()
    li = _reopen(path, "li", "li password")
    # search and list
    found = search_ids(li, Filters(text=other_name, status="all"), limit=None).ids
    rows = fetch_rows(li, found)
    assert all(r["grid_id"] == mine for r in rows.values())
    all_rows = fetch_rows(li, search_ids(li, Filters(status="all"), limit=None).ids)
    assert all_rows and {r["grid_id"] for r in all_rows.values()} == {mine}
    # editor load and edit
    with pytest.raises(AccessDenied):
        get_person(li, other_person)
    with pytest.raises(AccessDenied):
        save_person(li, values={"notes": "x"}, person_id=other_person)
    with pytest.raises(AccessDenied):
        get_household(li, other_home)
    with pytest.raises(AccessDenied):
        household_members(li, other_home)
    with pytest.raises(AccessDenied):
        reveal(li, table="person", row_id=other_person, field="id_number")
    from db.register.persons import life_events
    from db.register.tags import person_tags

    for read in (life_events, person_tags):
        with pytest.raises(AccessDenied):
            read(li, other_person)
    # export
    assert 0 < count_people(li) < everyone
    assert other_person not in {d["id"] for d in iter_people(li, PeopleFilter(status="all"))}
    out = tmp_path / "li.xlsx"
    n = export_people(li, out)
    assert n == count_people(li)
    # print data
    with pytest.raises(GridDeskError):
        household_forms(li, [other_home])
    listed = register_list(li, "households")
    assert listed.rows and all(other_home != r for r in listed.rows)
    homes = {r[0] for r in li.db.execute_sql("select id from household where grid_id = ?", (mine,))}
    assert len(listed.rows) == len(homes)
    li.close()


def test_read_only_sees_masked_and_changes_nothing(admin, tmp_path):
    from db.ledger.export import export_people
    from db.printing_audit import record_full_print
    from db.register.audit import reveal
    from db.register.persons import save_person

    pid = admin.db.execute_sql("select id from person limit 1").fetchone()[0]
    service.add_user(admin, login="ro", password="ro password", role=ROLE_READONLY)
    path = admin.path
    admin.close()
    ro = _reopen(path, "ro", "ro password")
    with pytest.raises(AccessDenied):
        reveal(ro, table="person", row_id=pid, field="id_number")
    with pytest.raises(AccessDenied):
        save_person(ro, values={"notes": "x"}, person_id=pid)
    with pytest.raises(AccessDenied):
        export_people(ro, tmp_path / "x.xlsx", unmasked=True)
    with pytest.raises(AccessDenied):
        record_full_print(ro, form="household")
    export_people(ro, tmp_path / "masked.xlsx")  # masked is allowed
    ro.close()


def test_bad_input_changes_nothing(admin):
    from db.errors import ValidationError

    with pytest.raises(ValidationError):
        service.add_user(admin, login="", password="long enough", role=ROLE_GRID, grid_ids=["g"])
    with pytest.raises(ValidationError):
        service.add_user(admin, login="a", password="short", role=ROLE_GRID, grid_ids=["g"])
    with pytest.raises(ValidationError):
        service.add_user(admin, login="b", password="long enough", role=ROLE_GRID)  # no grid
    with pytest.raises(ValidationError):
        service.add_user(admin, login="admin", password="long enough", role=ROLE_READONLY)
    assert [u["login"] for u in service.list_users(admin)] == ["admin"]
    with pytest.raises(AccessDenied):
        service.set_role(admin, login="admin", role=ROLE_READONLY)

"""The audit trail: an entry for each sensitive action, searchable, append-only, synced, and a CLI."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from db import oplog
from db.accounts import audit, cipher, service
from db.accounts.models import ROLE_GRID
from db.accounts.session import AccessDenied
from db.models.register import AuditEntry
from db.store import Store
from tests.test_cli import griddesk

PASSWORD = "correct horse 1"


@pytest.fixture
def admin(tmp_path):
    from db.demo import generate

    path = tmp_path / "gd.sqlite"
    store = Store(path, user="setup")
    generate(store, households=20, seed=2)
    new, _recovery = service.create_first_admin(store, login="admin", password=PASSWORD)
    yield new
    new.close()


def _actions(store, **kw):
    return [r.action for r in audit.search(store, **kw)]


def test_each_sensitive_action_leaves_an_entry(admin, tmp_path):
    from db.ledger.export import export_people
    from db.printing_audit import record_full_print
    from db.register.audit import reveal
    from db.register.persons import save_person
    from db.sync.exchange import export_to_file

    pid, name = admin.db.execute_sql("select p.id, p.name from person p join membership m on m.person_id = p.id "
                                     "limit 1").fetchone()
    home = admin.db.execute_sql("select household_id from membership where person_id = ?", (pid,)).fetchone()[0]
    path = admin.path
    admin.close()
    cipher.forget_key(path)
    with pytest.raises(service.LoginFailed):
        service.open_store(path, login="admin", password="not the password")
    store = service.open_store(path, login="admin", password=PASSWORD)
    reveal(store, table="person", row_id=pid, field="id_number")
    reveal(store, table="person", row_id=pid, field="phone")
    record_full_print(store, form="household", target_table="household", target_ids=[home])
    export_people(store, tmp_path / "full.xlsx", unmasked=True)
    save_person(store, values={"notes": "走访时已核实"}, person_id=pid)
    export_to_file(store, tmp_path / "b.gdb", full=True, passphrase="stick passphrase")
    actions = _actions(store)
    for expected in ("login_failed", "login", "reveal", "print_unmasked", "export_unmasked", "change", "exchange",
                     "accounts_created"):
        assert expected in actions, expected
    # By person: the reveals of their numbers and the change of their record (by name too).
    by_person = audit.search(store, person=name)
    assert {"reveal", "change"} <= {r.action for r in by_person}
    assert all(r.target_id in audit.person_targets(store, name)[1] for r in by_person)
    # By user and date.
    assert set(_actions(store, user="admin")) >= {"reveal", "login", "change"}
    assert _actions(store, user="nobody") == []
    today = dt.date.today().isoformat()
    assert "reveal" in _actions(store, date_from=today, date_to=today)
    assert _actions(store, date_from="2001-01-01", date_to="2001-01-31") == []
    fail = next(r for r in audit.search(store, action="login_failed"))
    assert fail.user == "admin"
    store.close()


def test_the_trail_is_append_only_synced_and_admin_only(admin):
    from db.register.audit import reveal

    pid = admin.db.execute_sql("select id from person limit 1").fetchone()[0]
    reveal(admin, table="person", row_id=pid, field="id_number")
    entry = admin.db.execute_sql("select id from audit_entry where action = 'reveal'").fetchone()[0]
    with pytest.raises(PermissionError):
        oplog.write(admin, AuditEntry, [{"id": entry, "detail": "nothing happened"}])
    with pytest.raises(PermissionError):
        oplog.write(admin, AuditEntry, [{"id": entry, "deleted": 1}])
    # Entries are ops, carried by every exchange.
    ops = [op for op in oplog.load_ops(admin.db) if op.tbl == "audit_entry"]
    assert any(op.row_id == entry and op.user == "admin" for op in ops)
    grid = admin.db.execute_sql("select id from grid limit 1").fetchone()[0]
    service.add_user(admin, login="li", password="li password", role=ROLE_GRID, grid_ids=[grid])
    path = admin.path
    admin.close()
    cipher.forget_key(path)
    li = service.open_store(path, login="li", password="li password")
    with pytest.raises(AccessDenied):
        audit.search(li)
    li.close()


def test_cli_audit_and_accounts(tmp_path):
    db = tmp_path / "cli.sqlite"
    assert griddesk("demo", "--db", str(db), "--households", "20", "--seed", "3").returncode == 0
    pw = tmp_path / "pw.txt"
    pw.write_text(PASSWORD + "\n", encoding="utf-8")
    r = griddesk("accounts", "--db", str(db), "create-admin", "--name", "admin", "--new-password-file", str(pw))
    assert r.returncode == 0, r.stderr
    assert "恢复密钥" in r.stdout
    r = griddesk("audit", "--db", str(db))
    assert r.returncode == 2 and "--login" in r.stderr
    bad = tmp_path / "bad.txt"
    bad.write_text("wrong password\n", encoding="utf-8")
    r = griddesk("audit", "--db", str(db), "--login", "admin", "--password-file", str(bad))
    assert r.returncode == 2 and "密码" in r.stderr
    r = griddesk("audit", "--db", str(db), "--login", "admin", "--password-file", str(pw), "--json",
                 "--no-changes")
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert {"login_failed", "login", "accounts_created"} <= {d["action"] for d in rows}
    r = griddesk("audit", "--db", str(db), "--login", "admin", "--password-file", str(pw), "--user", "admin",
                 "--action", "login")
    assert r.returncode == 0 and "登录" in r.stdout
    r = griddesk("retention", "--db", str(db), "--login", "admin", "--password-file", str(pw), "--years", "0")
    assert r.returncode == 0, r.stderr
    moved = [line.split("\t")[0] for line in r.stdout.splitlines() if line]
    if moved:  # the demo has people who moved out or died
        r = griddesk("retention", "--db", str(db), "--login", "admin", "--password-file", str(pw),
                     "--redact", moved[0])
        assert r.returncode == 0 and "已删除" in r.stdout
        r = griddesk("audit", "--db", str(db), "--login", "admin", "--password-file", str(pw), "--action", "redact")
        assert "删除个人信息" in r.stdout

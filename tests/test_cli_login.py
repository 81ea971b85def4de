"""`--login` for every griddesk command that reads a database with accounts (issue 18)."""

from __future__ import annotations

import pytest

from tests.test_cli import griddesk

PASSWORD = "correct horse 1"


@pytest.fixture(scope="module")
def accounts_db(tmp_path_factory):
    folder = tmp_path_factory.mktemp("login")
    db = folder / "gd.sqlite"
    assert griddesk("demo", "--db", str(db), "--households", "30", "--seed", "4").returncode == 0
    pw = folder / "pw.txt"
    pw.write_text(PASSWORD + "\n", encoding="utf-8")
    r = griddesk("accounts", "--db", str(db), "create-admin", "--name", "admin", "--new-password-file", str(pw))
    assert r.returncode == 0, r.stderr
    return db, pw, folder


# Every command that reads personal data from the database (a listing, an export, a print, a check).
READERS = [
    ("info",), ("check",), ("conflicts",), ("device",), ("meetings", "matters"), ("volunteers", "teams"),
    ("undo-import", "--list"), ("backup", "--list"),
]


@pytest.mark.parametrize("command", READERS, ids=lambda c: "-".join(c))
def test_a_command_on_a_database_with_accounts_needs_a_login(accounts_db, command):
    db, pw, _folder = accounts_db
    r = griddesk(*command, "--db", str(db))
    assert r.returncode == 2 and "--login" in r.stderr, (r.stdout, r.stderr)
    r = griddesk(*command, "--db", str(db), "--login", "admin", "--password-file", str(pw))
    assert r.returncode == 0, (r.stdout, r.stderr)


def test_export_and_print_log_in_and_a_wrong_password_is_refused(accounts_db, tmp_path):
    db, pw, _folder = accounts_db
    out = tmp_path / "people.xlsx"
    assert griddesk("export", "--db", str(db), "--to", str(out)).returncode == 2 and not out.exists()
    bad = tmp_path / "bad.txt"
    bad.write_text("wrong password\n", encoding="utf-8")
    r = griddesk("export", "--db", str(db), "--to", str(out), "--login", "admin", "--password-file", str(bad))
    assert r.returncode == 2 and "密码" in r.stderr and not out.exists()
    r = griddesk("export", "--db", str(db), "--to", str(out), "--login", "admin", "--password-file", str(pw))
    assert r.returncode == 0 and out.stat().st_size > 0, r.stderr
    pdf = tmp_path / "roster.pdf"
    r = griddesk("print", "--list")
    assert r.returncode == 0
    form = r.stdout.split()[0]
    r = griddesk("print", form, "--db", str(db), "--out", str(pdf))
    assert r.returncode == 2 and "--login" in r.stderr


def test_the_login_is_audited_and_the_role_is_enforced(accounts_db, tmp_path):
    import json

    db, pw, folder = accounts_db
    # A read-only account: it may list, not change (the services refuse, as in the app).
    ro = folder / "ro.txt"
    ro.write_text("read only pass 1\n", encoding="utf-8")
    r = griddesk("accounts", "--db", str(db), "--login", "admin", "--password-file", str(pw), "add", "--name", "wang",
                 "--role", "readonly", "--new-password-file", str(ro))
    assert r.returncode == 0, r.stderr
    r = griddesk("meetings", "matters", "--db", str(db), "--login", "wang", "--password-file", str(ro))
    assert r.returncode == 0, r.stderr
    ledger = tmp_path / "in.csv"
    ledger.write_text("姓名,身份证号,网格\n张三,11010519491231002X,一网格\n", encoding="utf-8")
    r = griddesk("import", str(ledger), "--db", str(db), "--login", "wang", "--password-file", str(ro))
    assert r.returncode != 0 and "只读" in r.stderr, (r.stdout, r.stderr)
    r = griddesk("audit", "--db", str(db), "--login", "admin", "--password-file", str(pw), "--json", "--no-changes",
                 "--user", "wang", "--action", "login")
    assert r.returncode == 0 and len([json.loads(line) for line in r.stdout.splitlines()]) >= 2, r.stderr

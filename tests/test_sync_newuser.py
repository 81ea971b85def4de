"""What a new user meets: a passphrase handover from an unknown device, telling devices apart by
name, readable bundle names by date, and no needless backup before an import."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from db import opfields, oplog
from db.models.register import Grid, Person
from db.store import Store
from db.sync import exchange, files, identity
from desktop.cli import main
from tests.sync_helpers import make_replicas


def _run(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def _passphrase_handover(tmp_path) -> tuple[Path, Store]:
    """A full handover protected only by a passphrase, written by a device the receiver never met."""
    src = Store(tmp_path / "old.sqlite", user="张伟")
    oplog.write(src, Person, [{"name": "王五"}, {"name": "赵六"}])
    stick = tmp_path / "stick"
    stick.mkdir()
    exported = exchange.export_to_file(src, stick, full=True, passphrase="口令123")
    return Path(exported.file_name), src


def test_unknown_sender_message_names_the_real_tab_and_the_ways_out(tmp_path, capsys):
    bundle, src = _passphrase_handover(tmp_path)
    fp = identity.identity(src).fingerprint
    src.close()
    (tmp_path / "pw").write_text("口令123\n", encoding="utf-8")
    new = str(tmp_path / "new.sqlite")
    Store(new, user="李").close()
    code, _out, err = _run(capsys, "import-bundle", "--db", new, str(bundle), "--passphrase-file", str(tmp_path / "pw"))
    assert code == 2
    assert "本机与受信任设备" in err and "--trust-sender" in err and fp in err
    assert "信任具有以下指纹的新发送设备" in err
    assert "“同步与交接 → 设备”" not in err
    code, _out, err = _run(capsys, "import-bundle", "--db", new, str(bundle), "--passphrase-file",
                           str(tmp_path / "pw"), "--trust-sender", "0000-0000-0000-0000")
    assert code == 2 and "不是发送设备的指纹" in err
    code, out, _err = _run(capsys, "import-bundle", "--db", new, str(bundle), "--passphrase-file",
                           str(tmp_path / "pw"), "--trust-sender", fp.lower())
    assert code == 0 and "新增人口：2" in out
    store = Store(new)
    assert [d["fingerprint"] for d in identity.trusted_devices(store)] == [fp]
    store.close()


def test_verified_bundle_of_unknown_sender_can_be_previewed_but_not_imported_unconfirmed(tmp_path):
    bundle_path, src = _passphrase_handover(tmp_path)
    dst = Store(tmp_path / "new.sqlite", user="李")
    with pytest.raises(identity.SyncError):
        exchange.read_bundle_file(dst, bundle_path, passphrase="口令123")
    with pytest.raises(identity.SyncError, match="口令"):
        exchange.read_bundle_file(dst, bundle_path, passphrase="wrong", allow_unknown=True)
    bundle = exchange.read_bundle_file(dst, bundle_path, passphrase="口令123", allow_unknown=True)
    assert bundle.needs_trust and bundle.sender_name == identity.identity(src).name
    assert exchange.preview(dst, bundle).new_rows == {"person": 2}
    with pytest.raises(identity.SyncError, match="本机与受信任设备"):
        exchange.import_bundle(dst, bundle)
    assert dst.db.execute_sql("select count(*) from person").fetchone() == (0,)
    with pytest.raises(identity.SyncError):
        exchange.confirm_sender(bundle, "1234-5678-9ABC-DEF0")
    exchange.confirm_sender(bundle, identity.identity(src).fingerprint)
    assert exchange.import_bundle(dst, bundle).new_rows == {"person": 2}
    assert identity.trusted_devices(dst)[0]["device_id"] == identity.identity(src).device_id
    src.close()
    dst.close()


def test_default_device_names_differ_and_say_whose_computer(tmp_path):
    a = Store(tmp_path / "a.sqlite", user="root")
    b = Store(tmp_path / "b.sqlite", user="root")
    oplog.write(b, Grid, [{"name": "一网格", "worker": "张伟"}])
    na, nb = identity.identity(a).name, identity.identity(b).name
    assert na != nb and "@" not in na
    assert na == f"root的电脑-{identity.identity(a).fingerprint[:4]}"
    assert nb.startswith("张伟的电脑-")
    assert identity.name_is_default(a)
    identity.rename_device(a, "  社区办公室  ")
    assert identity.identity(a).name == "社区办公室" and not identity.name_is_default(a)
    with pytest.raises(identity.SyncError):
        identity.rename_device(a, " ")
    a.close()
    b.close()


def test_old_login_at_host_default_is_replaced(tmp_path):
    import socket

    from db.models.sync import DeviceKey

    a = Store(tmp_path / "a.sqlite", user="root")
    me = identity.identity(a)
    with a.activated():
        DeviceKey.update(name=f"root@{socket.gethostname()}").execute()
    assert identity.identity(a).name == f"root的电脑-{me.fingerprint[:4]}"
    a.close()


def test_a_renamed_sender_is_renamed_in_the_receivers_list(tmp_path):
    a, b = make_replicas(tmp_path, ["a", "b"])
    identity.rename_device(a, "张伟的笔记本")
    b_id = identity.identity(b).device_id
    with a.activated():
        oplog.write(a, Person, [{"name": "王五"}])
    exchange.import_bundle(b, exchange.read_bundle(b, exchange.export_bundle(a, for_device=b_id).data))
    (entry,) = identity.trusted_devices(b)
    assert entry["name"] == "张伟的笔记本" and entry["device_id"] == identity.identity(a).device_id
    a.close()
    b.close()


def test_bundle_names_by_date_and_sequence(tmp_path):
    day = dt.date(2026, 11, 25)
    assert files.dated_name(tmp_path, "GD", "GDB", day) == "GD1125A.GDB"
    (tmp_path / "gd1125a.gdb").write_bytes(b"x")  # FAT ignores case
    assert files.dated_name(tmp_path, "GD", "GDB", day) == "GD1125B.GDB"
    for c in "BCDEFGHIJKLMNOPQRSTUVWXYZ":
        (tmp_path / f"GD1125{c}.GDB").write_bytes(b"x")
    name = files.dated_name(tmp_path, "GD", "GDB", day)
    assert name == "GD1125AA.GDB" and len(name.split(".")[0]) == 8
    assert files.dated_name(tmp_path, "RC", "GDR", day) == "RC1125A.GDR"


def test_listing_a_stick_says_what_each_file_is(tmp_path):
    a, b = make_replicas(tmp_path, ["a", "b"])
    identity.rename_device(a, "张伟的笔记本")
    with a.activated():
        oplog.write(a, Person, [{"name": "王五"}])
    stick = tmp_path / "stick"
    stick.mkdir()
    b_id = identity.identity(b).device_id
    first = exchange.export_to_file(a, stick, for_device=b_id)
    second = exchange.export_to_file(a, stick, full=True, passphrase="pw")
    (stick / "JUNK.GDB").write_bytes(b"hello")
    (stick / "NOTES.TXT").write_text("x")
    today = dt.date.today().strftime("%m%d")
    assert Path(first.file_name).name == f"GD{today}A.GDB" and Path(second.file_name).name == f"GD{today}B.GDB"
    listed = files.list_bundle_files(stick)
    assert sorted(f.path.name for f in listed) == sorted(["JUNK.GDB", f"GD{today}A.GDB", f"GD{today}B.GDB"])
    by_name = {f.path.name: f for f in listed}
    changes = by_name[f"GD{today}A.GDB"].describe(b_id)
    assert "张伟的笔记本" in changes and "更改" in changes and "给本机" in changes and "KB" in changes
    assert dt.date.today().isoformat() in changes
    full = by_name[f"GD{today}B.GDB"].describe(b_id)
    assert "完整交接" in full and "口令" in full
    assert "不是网格台账的交换包" in by_name["JUNK.GDB"].describe(b_id)
    a.close()
    b.close()


@pytest.mark.skipif(not (shutil.which("mkfs.vfat") and shutil.which("mcopy")), reason="needs dosfstools + mtools")
def test_dated_names_survive_a_fat32_image(tmp_path):
    a, b = make_replicas(tmp_path, ["a", "b"])
    with a.activated():
        oplog.write(a, Person, [{"name": "王五"}])
    img = tmp_path / "stick.img"
    subprocess.run(["mkfs.vfat", "-F", "32", "-C", str(img), "40000"], check=True, capture_output=True)
    staging = tmp_path / "out"
    staging.mkdir()
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    names = []
    for _i in range(2):
        exported = exchange.export_to_file(a, staging, for_device=identity.identity(b).device_id)
        names.append(Path(exported.file_name).name)
        subprocess.run(["mcopy", "-i", str(img), exported.file_name, f"::/{names[-1]}"], check=True, env=env)
    listing = subprocess.run(["mdir", "-i", str(img), "::/"], check=True, capture_output=True, text=True,
                             env=env).stdout
    for name in names:
        stem, ext = name.split(".")
        assert len(stem) <= 8 and name.isascii() and name == name.upper()
        assert f"{stem}   {ext}"[:12] in listing or stem in listing  # 8.3 entry, no long-name mangling
    assert "~" not in listing
    a.close()
    b.close()


def test_backup_before_import_is_skipped_only_when_nothing_was_written_since(tmp_path, capsys):
    from db.backup import list_backups, make_backup

    a, b = make_replicas(tmp_path, ["a", "b"])
    b_id = identity.identity(b).device_id
    with b.activated():
        oplog.write(b, Person, [{"name": "本地"}])
    make_backup(b, "daily")  # e.g. the first open of the day
    with a.activated():
        oplog.write(a, Person, [{"name": "王五"}])
        first = exchange.export_bundle(a, for_device=b_id).data
    summary = exchange.import_bundle(b, exchange.read_bundle(b, first))
    assert not summary.backup_made and len(list_backups(b.path)) == 1
    assert summary.backup_file == list_backups(b.path)[0].name
    # The import wrote: the next import needs a backup of its own.
    with a.activated():
        oplog.write(a, Person, [{"name": "赵六"}])
        second = exchange.export_bundle(a, for_device=b_id).data
    summary = exchange.import_bundle(b, exchange.read_bundle(b, second))
    assert summary.backup_made and len(list_backups(b.path)) == 2
    # A local write after the newest backup also needs a new one.
    with b.activated():
        oplog.write(b, Person, [{"name": "本地2"}])
    with a.activated():
        oplog.write(a, Person, [{"name": "孙七"}])
        third = exchange.export_bundle(a, for_device=b_id).data
    assert exchange.import_bundle(b, exchange.read_bundle(b, third)).backup_made
    history = exchange.exchange_history(b)
    assert [h["summary"]["backup_made"] for h in history] == [True, True, False]
    from views.sync.devices import backup_text

    assert "无需备份" in backup_text(history[-1]["summary"]) and "已备份" in backup_text(history[0]["summary"])
    a.close()
    b.close()


def test_a_malformed_change_is_named_and_nothing_imported(tmp_path):
    a, b = make_replicas(tmp_path, ["a", "b"])
    with a.activated():
        oplog.write(a, Person, [{"name": f"居民{i}"} for i in range(5)])
    good = [list(r) for r in opfields.wire_rows(a.db, a.db.execute_sql(
        f"select {oplog._OP_COLUMNS} from oplog order by counter"))]
    parsed = exchange._parse_ops([list(r) for r in good])
    assert [op.fields["name"] for op in parsed] == [f"居民{i}" for i in range(5)]
    assert parsed[0].raw == good[0]
    for column, bad in ((4, "not json"), (4, "[1]"), (1, 0), (6, "yesterday"), (7, 5), (5, "{")):
        rows = [list(r) for r in good]
        rows[2][column] = bad
        with pytest.raises(identity.SyncError, match="第 3 条更改格式不正确"):
            exchange._parse_ops(rows)
    with pytest.raises(identity.SyncError, match="第 2 条更改"):
        exchange._parse_ops([good[0], good[1][:9]])
    a.close()
    b.close()


def test_rows_new_here_get_their_defaults_and_equal_a_rebuild(tmp_path):
    from db.models.register import Tag

    a, b = make_replicas(tmp_path, ["a", "b"])
    with a.activated():
        oplog.write(a, Tag, [{"name": "独居老人"}])
        oplog.write(a, Person, [{"name": "王五"}, {"name": "赵六", "phone": "13800000001"}])
    exchange.import_bundle(b, exchange.read_bundle(
        b, exchange.export_bundle(a, for_device=identity.identity(b).device_id).data))
    assert oplog.compare_with_log(b) == []
    tables = ("tag", "person")
    assert {t: b.db.execute_sql(f"select * from {t} order by id").fetchall() for t in tables} == \
        {t: a.db.execute_sql(f"select * from {t} order by id").fetchall() for t in tables}
    a.close()
    b.close()

"""The sync commands end to end: device cards, trust, export-bundle, import-bundle (dry run,
receipt, twice), conflicts, revoke, and a bad passphrase file."""

from __future__ import annotations

from db import oplog
from db.models.register import Person
from db.store import Store
from desktop.cli import main


def _run(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_handover_between_laptop_and_office(tmp_path, capsys):
    lap, office = str(tmp_path / "lap.sqlite"), str(tmp_path / "office.sqlite")
    stick = tmp_path / "stick"
    stick.mkdir()
    assert _run(capsys, "device", "--db", office, "--name", "社区办公室", "--card", str(tmp_path / "O.GDC"))[0] == 0
    code, out, _err = _run(capsys, "device", "--db", lap, "--name", "张网格员", "--card", str(tmp_path / "L.GDC"))
    assert code == 0 and "指纹" in out
    assert _run(capsys, "trust-device", "--db", lap, str(tmp_path / "O.GDC"), "--office")[0] == 0
    assert _run(capsys, "trust-device", "--db", office, str(tmp_path / "L.GDC"))[0] == 0
    store = Store(lap)
    oplog.write(store, Person, [{"name": "王五", "phone": "13800001111"}, {"name": "赵六"}])
    store.close()

    code, out, _err = _run(capsys, "export-bundle", "--db", lap, "--to", str(stick), "--for", "社区办公室")
    assert code == 0 and "可以安全拔出" in out
    (bundle,) = stick.glob("*.GDB")
    code, out, _err = _run(capsys, "import-bundle", "--db", office, str(bundle), "--dry-run")
    assert code == 0 and "试运行" in out and "新增人口：2" in out
    assert Store(office).db.execute_sql("select count(*) from person").fetchone() == (0,)
    code, out, _err = _run(capsys, "import-bundle", "--db", office, str(bundle), "--receipt", str(stick))
    assert code == 0 and "已导入" in out
    code, out, _err = _run(capsys, "import-bundle", "--db", office, str(bundle))
    assert code == 0 and "此交换包以前已导入过，没有任何更改。" in out
    assert "已导入。" not in out  # nothing was imported this time
    (receipt,) = stick.glob("*.GDR")
    code, out, _err = _run(capsys, "import-bundle", "--db", lap, str(receipt))
    assert code == 0 and "回执" in out
    # After the receipt the laptop sends only what is new.
    code, out, _err = _run(capsys, "export-bundle", "--db", lap, "--to", str(tmp_path / "NEXT.GDB"),
                           "--for", "社区办公室")
    assert "（0 条更改" in out
    code, out, _err = _run(capsys, "conflicts", "--db", office)
    assert "没有待处理的冲突" in out

    (tmp_path / "pw").write_text("")
    code, _out, err = _run(capsys, "export-bundle", "--db", lap, "--to", str(stick), "--full",
                           "--passphrase-file", str(tmp_path / "pw"))
    assert code == 2 and "口令文件" in err
    assert _run(capsys, "revoke-device", "--db", office, "张网格员")[0] == 0
    code, _out, err = _run(capsys, "import-bundle", "--db", office, str(bundle))
    assert code == 2 and "吊销" in err
    # Trusting it again says that it had been revoked.
    code, out, _err = _run(capsys, "trust-device", "--db", office, str(tmp_path / "L.GDC"))
    assert code == 0 and "曾于" in out and "被撤销信任，现已重新信任" in out
    code, out, _err = _run(capsys, "trust-device", "--db", office, str(tmp_path / "L.GDC"))
    assert code == 0 and "被撤销" not in out

"""The command line on the first day: help in Chinese (argparse's own texts too), and a dry run
of a handover from a sender not trusted yet shows what it brings and how to trust it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from db import oplog
from db.models.register import Person
from db.store import Store
from desktop.cli import main

ROOT = Path(__file__).resolve().parent.parent


def _griddesk(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.run([sys.executable, "-m", "desktop", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=60)


def test_help_is_chinese_through_and_through():
    out = _griddesk("--help")
    assert out.returncode == 0
    assert out.stdout.startswith("用法：griddesk")
    assert "选项" in out.stdout and "显示此帮助信息并退出" in out.stdout
    assert "usage:" not in out.stdout and "show this help" not in out.stdout and "options:" not in out.stdout
    sub = _griddesk("import-bundle", "--help")
    assert "用法：griddesk import-bundle" in sub.stdout and "只显示将会更改的内容" in sub.stdout


def test_argparse_errors_are_chinese_and_english_stays_english():
    out = _griddesk("info")
    assert out.returncode == 2 and "错误：缺少以下必需参数：--db" in out.stderr
    english = _griddesk("--lang", "en", "--help")
    assert english.stdout.startswith("usage: griddesk") and "show this help message and exit" in english.stdout


def test_dry_run_of_an_untrusted_senders_bundle_shows_the_preview_and_the_trust_hint(tmp_path, capsys):
    old, new = str(tmp_path / "old.sqlite"), str(tmp_path / "new.sqlite")
    store = Store(old)
    oplog.write(store, Person, [{"name": "王五"}, {"name": "赵六"}, {"name": "钱七"}])
    store.close()
    Store(new).close()  # the successor's new, empty register
    (tmp_path / "pw").write_text("交接口令 2026\n")
    assert main(["export-bundle", "--db", old, "--to", str(tmp_path / "HAND.GDB"), "--full",
                 "--passphrase-file", str(tmp_path / "pw")]) == 0
    capsys.readouterr()
    code = main(["import-bundle", "--db", new, str(tmp_path / "HAND.GDB"), "--passphrase-file",
                 str(tmp_path / "pw"), "--dry-run"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "试运行" in out.out and "新增人口：3" in out.out  # the preview
    from db.sync.identity import identity

    sender = Store(old)
    fp = identity(sender).fingerprint
    sender.close()
    assert f"尚未受信任（指纹 {fp}）" in out.out and f"--trust-sender {fp}" in out.out
    assert Store(new).db.execute_sql("select count(*) from person").fetchone() == (0,)
    # Without --dry-run it is refused until the fingerprint is given.
    assert main(["import-bundle", "--db", new, str(tmp_path / "HAND.GDB"), "--passphrase-file",
                 str(tmp_path / "pw")]) == 2
    assert main(["import-bundle", "--db", new, str(tmp_path / "HAND.GDB"), "--passphrase-file",
                 str(tmp_path / "pw"), "--trust-sender", fp]) == 0

"""The sync invariants (DESIGN.md "Sync invariants"), each as a scenario on real files, mostly
through the griddesk command line.

- Beliefs follow what a peer says now: after B restores an older backup, one ordinary exchange
  each way gives B back what it lost (command line, real processes).
- A bundle with a hole is refused, saying in Chinese what is missing, from whom, and what to do;
  the receipt written then asks for the gap, and the sender's next ordinary bundle fills it.
- A clone written on two machines under the same path: the same op id with different content is
  a fault, reported on import and by `griddesk check`, both versions kept.
- A crash (SIGKILL) between the import's commit and the receipt loses nothing and applies
  nothing twice; the import commits with synchronous=FULL.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import sqlite3 as std_sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from db import oplog
from db.backup import list_backups
from db.models.register import Person
from db.store import Store, file_fingerprint
from db.sync import beliefs, exchange, identity
from db.sync.faults import count_faults, list_faults
from desktop.cli import main
from tests.sync_helpers import make_replicas
from tests.test_cli import ROOT


def griddesk(*args: str) -> subprocess.CompletedProcess:
    """The griddesk command line on real files, in this process (a process each costs seconds on
    the shared test machine; the crash test below runs real processes)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def _names(store: Store) -> set[str]:
    return {n for (n,) in store.db.execute_sql("select name from person where deleted = 0")}


def _names_in(path: Path) -> set[str]:
    store = Store(path)
    try:
        return _names(store)
    finally:
        store.close()


def _two_laptops(tmp_path: Path) -> tuple[str, str]:
    a, b = str(tmp_path / "a.sqlite"), str(tmp_path / "b.sqlite")
    assert griddesk("device", "--db", a, "--name", "甲笔记本", "--card", str(tmp_path / "A.GDC")).returncode == 0
    assert griddesk("device", "--db", b, "--name", "乙笔记本", "--card", str(tmp_path / "B.GDC")).returncode == 0
    assert griddesk("trust-device", "--db", a, str(tmp_path / "B.GDC")).returncode == 0
    assert griddesk("trust-device", "--db", b, str(tmp_path / "A.GDC")).returncode == 0
    return a, b


def _write(path: str, *names: str) -> None:
    store = Store(path)
    try:
        oplog.write(store, Person, [{"name": n} for n in names])
    finally:
        store.close()


def _exchange(src: str, dst: str, to_name: str, folder: Path, tag: str) -> subprocess.CompletedProcess:
    """One ordinary exchange src -> dst: a bundle, imported with a receipt, the receipt imported."""
    bundle, receipt = folder / f"{tag}.GDB", folder / f"{tag}.GDR"
    r = griddesk("export-bundle", "--db", src, "--to", str(bundle), "--for", to_name)
    assert r.returncode == 0, r.stderr
    r = griddesk("import-bundle", "--db", dst, str(bundle), "--receipt", str(receipt))
    if receipt.exists():
        back = griddesk("import-bundle", "--db", src, str(receipt))
        assert back.returncode == 0, back.stderr
    return r


def _restore_b_to_before_the_change(b: str) -> None:
    """B restores the backup made before it imported A's change (a broken disk, a mistake)."""
    (before_import,) = [p for p in list_backups(Path(b)) if "-import" in p.name]
    r = griddesk("restore", "--db", b, str(before_import))
    assert r.returncode == 0, r.stderr


def test_restore_then_exchange_brings_the_lost_change_back(tmp_path):
    a, b = _two_laptops(tmp_path)
    _write(a, "王五")
    r = _exchange(a, b, "乙笔记本", tmp_path, "AB1")
    assert r.returncode == 0 and "已导入" in r.stdout
    assert "王五" in _names_in(Path(b))
    _write(b, "赵六")  # B's own work before the restore (it was sent on to A further below)
    assert _exchange(b, a, "甲笔记本", tmp_path, "BA1").returncode == 0

    _restore_b_to_before_the_change(b)
    assert _names_in(Path(b)) == set()
    for db in (a, b):  # nothing looks wrong on either side
        assert griddesk("check", "--db", db).returncode == 0

    # One ordinary exchange each way: B's bundle says what B holds now (less than its receipt
    # said), A believes that, and A's next ordinary bundle carries again what B lost.
    assert _exchange(b, a, "甲笔记本", tmp_path, "BA2").returncode == 0
    r = _exchange(a, b, "乙笔记本", tmp_path, "AB2")
    assert r.returncode == 0, r.stderr
    assert _names_in(Path(b)) == {"王五", "赵六"}  # A's change, and B's own lost one, back from A
    assert _names_in(Path(a)) == {"王五", "赵六"}
    for db in (a, b):
        r = griddesk("check", "--db", db)
        assert r.returncode == 0, r.stdout + r.stderr


def test_a_bundle_with_a_hole_is_refused_and_the_next_one_fills_it(tmp_path):
    a, b = _two_laptops(tmp_path)
    _write(a, "王五")
    assert _exchange(a, b, "乙笔记本", tmp_path, "AB1").returncode == 0
    _restore_b_to_before_the_change(b)
    _write(a, "孙七")

    # A still believes B holds 王五: its next bundle starts after it. B refuses it whole and says
    # what is missing, from whom, and what to do; the receipt it writes asks for the gap.
    r = _exchange(a, b, "乙笔记本", tmp_path, "AB2")
    assert r.returncode == 2
    assert "甲笔记本" in r.stderr and "缺少" in r.stderr
    assert "回执" in r.stderr and "完整交接" in r.stderr and "没有导入任何内容" in r.stderr
    assert "回执" in r.stdout  # the receipt was written (and A imported it in _exchange)
    assert _names_in(Path(b)) == set()  # nothing applied: no hole
    store = Store(b)
    try:
        assert oplog.compare_with_log(store) == []
    finally:
        store.close()

    r = _exchange(a, b, "乙笔记本", tmp_path, "AB3")  # the sender's next ordinary bundle
    assert r.returncode == 0, r.stderr
    assert _names_in(Path(b)) == {"王五", "孙七"}


def test_the_gap_message_names_the_missing_changes_and_their_writer(tmp_path):
    a, b = make_replicas(tmp_path, ["甲", "乙"])
    b_id = identity.identity(b).device_id
    with a.activated():
        oplog.write(a, Person, [{"name": f"人{i}"} for i in range(3)])
        bundle_data = exchange.export_bundle(a, for_device=b_id).data
    # A believes B holds 5 of A's changes; B holds none.
    beliefs.replace_belief(a, b_id, {a.node_id: 5})
    with a.activated():
        oplog.write(a, Person, [{"name": "新"}])
        holed = exchange.export_bundle(a, for_device=b_id)
    assert holed.manifest["since"] == {a.node_id: 5}
    with b.activated():
        bundle = exchange.read_bundle(b, holed.data)
        with pytest.raises(beliefs.GapError) as err:
            exchange.import_bundle(b, bundle)
        assert err.value.gaps[0].node == a.node_id and err.value.gaps[0].missing == 5
        assert "5 条" in str(err.value) and "1 到 5" in str(err.value)
        assert "甲" in str(err.value)
        with pytest.raises(beliefs.GapError):
            exchange.preview(b, bundle)  # the preview says so too
        assert b.db.execute_sql("select count(*) from oplog").fetchone() == (0,)
        # The receipt B writes now replaces A's belief: A's next bundle starts from what B holds.
        receipt = exchange.make_receipt(b, bundle).data
    with a.activated():
        summary = exchange.import_bundle(a, exchange.read_bundle(a, receipt))
        assert summary.peer_lost == 5
        assert exchange.peer_vector(a, b_id) == {}
        fill = exchange.export_bundle(a, for_device=b_id)
    with b.activated():
        assert exchange.import_bundle(b, exchange.read_bundle(b, fill.data)).new_ops == 4
        assert exchange.import_bundle(b, exchange.read_bundle(b, bundle_data)).new_ops == 0
    a.close()
    b.close()


def test_a_receipt_replaces_the_belief_even_when_it_says_less(tmp_path):
    a, b = make_replicas(tmp_path, ["甲", "乙"])
    b_id = identity.identity(b).device_id
    beliefs.replace_belief(a, b_id, {"n1": 7, "n2": 3})
    previous = beliefs.replace_belief(a, b_id, {"n1": 2})
    assert previous == {"n1": 7, "n2": 3}
    assert beliefs.stored_belief(a, b_id) == {"n1": 2}
    assert beliefs.lost_by_peer(previous, {"n1": 2}) == {"n1": (2, 7), "n2": (0, 3)}
    a.close()
    b.close()


def test_a_copied_file_writes_under_a_new_node_and_announces_it(tmp_path):
    a, office = make_replicas(tmp_path, ["甲", "办公室"])
    office_id = identity.identity(office).device_id
    oplog.write(a, Person, [{"name": "王五"}])
    old_node, device = a.node_id, identity.identity(a).device_id
    a.close()
    copy = tmp_path / "elsewhere" / "a.sqlite"
    copy.parent.mkdir()
    shutil.copyfile(tmp_path / "甲.sqlite", copy)
    a2 = Store(copy, user="甲")
    assert a2.node_id != old_node and a2.node_rotated  # before it wrote anything
    assert identity.identity(a2).device_id == device  # the device keeps its keys
    oplog.write(a2, Person, [{"name": "赵六"}])
    with a2.activated():
        exported = exchange.export_bundle(a2, for_device=office_id)
    assert exported.manifest["sender"]["node"] == a2.node_id
    assert old_node in exported.manifest["sender"]["retired_nodes"]
    with office.activated():
        exchange.import_bundle(office, exchange.read_bundle(office, exported.data))
        names = exchange.node_names(office)
    assert names[a2.node_id][0] == device and names[old_node][0] == device
    a2.close()
    office.close()


def test_a_clone_written_on_two_machines_under_the_same_path(tmp_path):
    """A disk image copied to a second laptop: same path, same file identity, same keys, so the
    copy cannot know it is one. Both write under the same node id; the office meets the same op
    ids with different content: reported (import and check), both versions kept, nothing dropped."""
    machine1, machine2 = tmp_path / "m1", tmp_path / "m2"
    machine1.mkdir()
    path = machine1 / "griddesk.sqlite"
    lap, office = Store(path, user="甲"), Store(tmp_path / "office.sqlite", user="办公室")
    identity.trust_device(lap, identity.identity(office).card())
    identity.trust_device(office, identity.identity(lap).card())
    office_id = identity.identity(office).device_id
    oplog.write(lap, Person, [{"name": "共同的人"}])
    lap.close()
    shutil.copytree(machine1, machine2)
    clone_path = machine2 / "griddesk.sqlite"
    # On the second machine the file sits under the same path with the same file identity.
    raw = std_sqlite3.connect(clone_path)
    raw.execute("update meta set value = ? where key = 'fingerprint'", (file_fingerprint(clone_path),))
    raw.commit()
    raw.close()
    clone = Store(clone_path, user="甲")
    lap = Store(path, user="甲")
    assert clone.node_id == lap.node_id and not clone.node_rotated
    oplog.write(lap, Person, [{"name": "一号机写的"}])
    oplog.write(clone, Person, [{"name": "二号机写的"}])
    counter = lap.get_meta("op_counter")
    assert counter == clone.get_meta("op_counter")

    with lap.activated():
        first = exchange.export_bundle(lap, for_device=office_id).data
    with clone.activated():
        second = exchange.export_bundle(clone, for_device=office_id)
    with office.activated():
        exchange.import_bundle(office, exchange.read_bundle(office, first))
        summary = exchange.import_bundle(office, exchange.read_bundle(office, second.data))
    assert summary.faults == 1
    assert _names(office) >= {"共同的人", "一号机写的"}
    (fault,) = list_faults(office)
    assert fault["node"] == lap.node_id and fault["counter"] == int(counter)
    assert "一号机写的" in fault["ours"][4] and "二号机写的" in fault["theirs"][4]  # both versions kept
    office.close()

    r = griddesk("check", "--db", str(tmp_path / "office.sqlite"))
    assert r.returncode == 1
    assert "两种不同的内容" in r.stdout and "二号机写的" in r.stdout and "一号机写的" in r.stdout

    # The clone, meeting its twin's version of its own op id, keeps it and stops writing under it.
    office = Store(tmp_path / "office.sqlite", user="办公室")
    clone_id = identity.identity(clone).device_id
    with office.activated():
        back = exchange.export_bundle(office, full=True, for_device=clone_id).data
    old_node = clone.node_id
    with clone.activated():
        summary = exchange.import_bundle(clone, exchange.read_bundle(clone, back))
    assert summary.faults == 1 and count_faults(clone) == 1
    assert clone.node_id != old_node
    for s in (clone, lap, office):
        s.close()


def test_the_import_reports_a_fault_on_the_command_line(tmp_path):
    a, b = _two_laptops(tmp_path)
    _write(a, "王五")
    bundle = tmp_path / "A1.GDB"
    assert griddesk("export-bundle", "--db", a, "--to", str(bundle), "--for", "乙笔记本").returncode == 0
    assert griddesk("import-bundle", "--db", b, str(bundle)).returncode == 0
    # The same op id, other content, in B's log (as a clone would have written it).
    store = Store(b)
    store.db.execute_sql("update oplog set fields = ? where node != ?", ('{"name":"别的内容"}', store.node_id))
    store.close()
    r = griddesk("import-bundle", "--db", b, str(bundle))
    assert r.returncode == 0
    assert "相同的编号" in r.stderr and "两个版本都已保留" in r.stderr


_IMPORT_THEN_WAIT = """
import sys, time
from pathlib import Path
from db.store import Store
from db.sync import exchange
store = Store(Path(sys.argv[1]))
bundle = exchange.read_bundle_file(store, Path(sys.argv[2]))
summary = exchange.import_bundle(store, bundle)
print("COMMITTED", summary.new_ops, flush=True)
time.sleep(120)  # the receipt would be written here
exchange.write_receipt(store, bundle, Path(sys.argv[3]))
"""


def test_sigkill_between_commit_and_receipt_loses_nothing_and_applies_nothing_twice(tmp_path):
    a, b = _two_laptops(tmp_path)
    _write(a, "王五", "赵六")
    bundle, receipt = tmp_path / "A1.GDB", tmp_path / "B1.GDR"
    assert griddesk("export-bundle", "--db", a, "--to", str(bundle), "--for", "乙笔记本").returncode == 0
    proc = subprocess.Popen([sys.executable, "-c", _IMPORT_THEN_WAIT, b, str(bundle), str(receipt)],
                            cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), stdout=subprocess.PIPE,
                            text=True)
    try:
        line = proc.stdout.readline()
        assert line.split() == ["COMMITTED", "2"]
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL and not receipt.exists()

    store = Store(b)
    try:
        assert _names(store) == {"王五", "赵六"}  # nothing lost
        assert store.db.execute_sql("select count(*) from sync_exchange where direction = 'import'").fetchone() == (1,)
    finally:
        store.close()
    # Importing again (the person tries once more) applies nothing twice, and writes the receipt.
    r = griddesk("import-bundle", "--db", b, str(bundle), "--receipt", str(receipt))
    assert r.returncode == 0 and "以前已导入过" in r.stdout
    assert griddesk("import-bundle", "--db", a, str(receipt)).returncode == 0
    r = griddesk("export-bundle", "--db", a, "--to", str(tmp_path / "A2.GDB"), "--for", "乙笔记本")
    assert "（0 条更改" in r.stdout  # the receipt said B holds both
    store = Store(b)
    try:
        assert store.db.execute_sql("select count(*) from person").fetchone() == (2,)
        assert oplog.compare_with_log(store) == []
    finally:
        store.close()


def test_the_import_commits_with_synchronous_full_and_the_setting_returns(tmp_path):
    a, b = make_replicas(tmp_path, ["甲", "乙"])
    oplog.write(a, Person, [{"name": "王五"}])
    with a.activated():
        data = exchange.export_bundle(a, for_device=identity.identity(b).device_id).data
    seen = []

    def hook(store, row_ids):
        seen.append(store.db.execute_sql("pragma synchronous").fetchone()[0])

    oplog.add_row_hook(b, "person", hook)
    try:
        with b.activated():
            exchange.import_bundle(b, exchange.read_bundle(b, data))
    finally:
        oplog.remove_row_hook(b, "person", hook)
    assert seen == [2]  # FULL inside the import's transaction
    assert b.db.execute_sql("pragma synchronous").fetchone()[0] == 1  # NORMAL again afterwards
    a.close()
    b.close()

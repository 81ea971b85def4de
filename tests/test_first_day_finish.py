"""A grid worker's first day, the last parts: the handover bundle carries the community's name;
the sign-in sheet's host and date lines are options of the print screen and the command line."""

from __future__ import annotations

from pathlib import Path

from db import oplog
from db.models.register import Person
from db.register.community import community_name
from db.store import Store
from db.sync import exchange, identity
from desktop.cli import main


def _handover(tmp_path: Path, community: str | None) -> tuple[Path, Store]:
    src = Store(tmp_path / "old.sqlite", user="张伟")
    if community:
        src.set_meta(community_name=community)
    oplog.write(src, Person, [{"name": "王五"}])
    stick = tmp_path / "stick"
    stick.mkdir(exist_ok=True)
    return Path(exchange.export_to_file(src, stick, full=True, passphrase="口令123").file_name), src


def test_the_receiving_laptop_learns_the_community_name_from_the_handover(tmp_path, capsys):
    bundle, src = _handover(tmp_path, "幸福里社区")
    fp = identity.identity(src).fingerprint
    src.close()
    (tmp_path / "pw").write_text("口令123\n", encoding="utf-8")
    new = tmp_path / "new.sqlite"
    Store(new, user="李").close()
    args = ["import-bundle", "--db", str(new), str(bundle), "--passphrase-file", str(tmp_path / "pw"),
            "--trust-sender", fp]
    assert main([*args, "--dry-run"]) == 0
    assert "社区：幸福里社区" in capsys.readouterr().out
    store = Store(new)
    assert community_name(store) == ""  # a preview writes nothing
    store.close()
    assert main(args) == 0
    store = Store(new)
    assert community_name(store) == "幸福里社区"
    store.close()


def test_a_register_with_its_own_name_keeps_it(tmp_path):
    bundle, src = _handover(tmp_path, "幸福里社区")
    dst = Store(tmp_path / "new.sqlite", user="李")
    dst.set_meta(community_name="和平里社区")
    read = exchange.read_bundle_file(dst, bundle, passphrase="口令123", allow_unknown=True)
    assert read.community == "幸福里社区"
    exchange.confirm_sender(read, identity.identity(src).fingerprint)
    exchange.import_bundle(dst, read)
    assert community_name(dst) == "和平里社区"
    src.close()
    dst.close()


def test_a_bundle_from_a_register_without_a_name_sets_none(tmp_path):
    bundle, src = _handover(tmp_path, None)
    dst = Store(tmp_path / "new.sqlite", user="李")
    read = exchange.read_bundle_file(dst, bundle, passphrase="口令123", allow_unknown=True)
    exchange.confirm_sender(read, identity.identity(src).fingerprint)
    exchange.import_bundle(dst, read)
    assert read.community == "" and community_name(dst) == ""
    src.close()
    dst.close()

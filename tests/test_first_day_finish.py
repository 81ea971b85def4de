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
    from views.sync.transfer import summary_html

    assert "社区：幸福里社区" in summary_html(exchange.preview(dst, read), read)  # the import screen's preview
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


# -- the sign-in sheet's host and date ---------------------------------------------------------------

def _community(store):
    from print_fixtures import make_community

    return make_community(store, buildings=1, units=1, doors=2)


def test_host_and_date_are_options_of_the_command_line(tmp_path, capsys):
    import pdf_tools

    db = tmp_path / "c.sqlite"
    store = Store(db)
    _community(store)
    store.close()
    out = tmp_path / "signin.pdf"
    assert main(["print", "signin", "--db", str(db), "--out", str(out), "--meeting", "居民议事会",
                 "--host", "张主任", "--date", "2026/12/1"]) == 0
    text = pdf_tools.text(out)
    assert "主持人：张主任" in text and "日期：2026年12月1日" in text
    # Not given: lines to fill in by hand.
    assert main(["print", "signin", "--db", str(db), "--out", str(out), "--meeting", "居民议事会"]) == 0
    text = pdf_tools.text(out)
    assert "主持人：＿" in text and "＿＿＿＿年＿＿月＿＿日" in text
    # A date that is not one: a clear message, nothing written.
    out.unlink()
    assert main(["print", "signin", "--db", str(db), "--out", str(out), "--meeting", "居民议事会",
                 "--date", "下周二"]) == 2
    assert "下周二" in capsys.readouterr().err and not out.exists()


def test_host_and_date_are_options_of_the_print_screen(qtbot, ctx, store, tmp_path):
    import pdf_tools
    from print_fixtures import printing_screen

    _community(store)
    screen = printing_screen(ctx, qtbot)
    panel = screen.select_form("signin")
    panel.meeting.setText("居民议事会")
    panel.host.setText("张主任")
    panel.day.setText("2026-12-01")
    screen.generate()
    out = tmp_path / "s.pdf"
    screen.save_pdf(str(out))
    text = pdf_tools.text(out)
    assert "主持人：张主任" in text and "日期：2026年12月1日" in text

"""Open every main screen and dialog at a text size on a demo community, for looking and checking.

    python scripts/screens_at_scale.py --scale 150 [--check] [--show NAME] [--households N]

--check prints what is clipped (tests/layout_check.py) on each screen and dialog and exits;
--show NAME leaves one screen or dialog open (for /work/shared/tools/xshot), e.g.
    xshot out.png --size 1366x768 --wait 8 -- python scripts/screens_at_scale.py --show person
NAME: a screen key (households, visits, printing, sync, settings, ...), a screen tab
(statistics, duplicates, devices, history, print-household, print-signin...), or a dialog
(person, household, visit, import, new-register, first-start, guide, device-name).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def build(args):
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from db.demo import generate
    from db.store import Store
    from desktop.app import Shell
    from desktop.errors import ErrorReporter
    from desktop.settings import Settings

    app = QApplication.instance() or QApplication(sys.argv)
    folder = Path(tempfile.mkdtemp(prefix="griddesk-screens-"))
    db = folder / "griddesk.sqlite"
    store = Store(db, user="李娜")
    generate(store, households=args.households, seed=1)
    store.close()
    settings = Settings(QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat))
    settings.set_text_scale(args.scale)
    settings.set_operator_name("李娜")
    shell = Shell(app, settings, errors=ErrorReporter(modal=False), demo_households=0)
    return app, shell, db


def targets(shell):
    """(name, opener) pairs; an opener returns the top-level widget to look at."""
    from PySide6.QtWidgets import QTableWidgetItem  # noqa: F401

    w = shell.window

    def screen(key, tab=None):
        def open_():
            w.show_screen(key)
            s = w.get_screen(key)
            if tab is not None:
                tabs = s.tabs
                tabs.setCurrentWidget(getattr(s, tab))
            return w
        return open_

    def person():
        from views.households.person_dialog import PersonDialog

        d = PersonDialog(shell.ctx, parent=w)  # a new person: every field typed
        d.inputs["name"].setText("张三")
        d.inputs["id_number"].setText("110105194912310021")  # a wrong check character
        d.show()
        d.check()
        return d

    def person_mismatch():
        from views.households.person_dialog import PersonDialog

        d = PersonDialog(shell.ctx, parent=w)
        d.inputs["name"].setText("张三")
        d.inputs["birth_date"].setText("1950-01-01")
        d.inputs["id_number"].setText("11010519491231002X")  # born 1949-12-31, a woman
        from views.households.common import set_combo

        set_combo(d.inputs["sex"], "男")
        d.show()
        d.check()
        return d

    def household():
        from views.households.household_dialog import HouseholdDialog

        d = HouseholdDialog(shell.ctx, household_id=_first_household(shell), parent=w)
        d.show()
        return d

    def visit():
        from views.visits.visit_dialog import VisitDialog

        d = VisitDialog(shell.ctx, household_id=_first_household(shell), parent=w)
        d.show()
        return d

    def printing(form):
        def open_():
            w.show_screen("printing")
            s = w.get_screen("printing")
            s.select_form(form) if hasattr(s, "select_form") else None
            return w
        return open_

    def first_start():
        from desktop.app import default_db_path
        from desktop.first_start import FirstStartDialog

        d = FirstStartDialog(w)
        d.set_folder(default_db_path().parent)
        d.show()
        return d

    def new_register():
        from desktop.first_start import NewRegisterDialog

        d = NewRegisterDialog(w, worker="李娜")
        d.show()
        return d

    def guide():
        from desktop.first_start import show_guide

        return show_guide(w)

    def device_name():
        from views.sync.devices import DeviceNameDialog

        d = DeviceNameDialog(shell.ctx, w)
        d.show()
        return d

    def import_wizard():
        from views.ledger import open_import_wizard

        return open_import_wizard(shell.ctx, w)

    items = [("households", screen("households")), ("duplicates", screen("households", "duplicates")),
             ("statistics", screen("households", "statistics")), ("visits", screen("visits")),
             ("meetings", screen("meetings")), ("matters", screen("meetings", "matters")),
             ("matter-statistics", screen("meetings", "matter_stats")), ("volunteers", screen("volunteers")),
             ("printing", screen("printing")), ("sync", screen("sync")),
             ("devices", screen("sync", "devices_tab")), ("history", screen("sync", "history_tab")),
             ("settings", screen("settings")),
             ("person", person), ("person-mismatch", person_mismatch), ("household", household), ("visit", visit), ("first-start", first_start),
             ("new-register", new_register), ("guide", guide), ("device-name", device_name),
             ("import", import_wizard)]
    for key in ("household", "signin", "meeting-notice", "visit", "list", "notice"):
        items.append((f"print-{key}", printing(key)))
    return items


def _first_household(shell):
    from db.models.register import Household

    with shell.ctx.store.activated():
        return Household.select().where(Household.deleted == 0).order_by(Household.id).first().id


def _first_person(shell):
    from db.models.register import Person

    with shell.ctx.store.activated():
        return Person.select().where(Person.deleted == 0).order_by(Person.id).first().id


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=int, default=150)
    parser.add_argument("--households", type=int, default=120)
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--show")
    parser.add_argument("--size", default="1366x768")
    parser.add_argument("--switch", action="store_true",
                        help="start at 100 % and change the text size in the running app")
    args = parser.parse_args()
    from layout_check import clipped_widgets
    from PySide6.QtCore import QTimer

    target_scale = args.scale
    if args.switch:
        args.scale = 100
    app, shell, db = build(args)
    width, height = (int(x) for x in args.size.split("x"))

    def ready():
        window = shell.window
        window.showNormal()
        window.setGeometry(0, 0, width, height - 30)
        if args.switch:
            for key in ("households", "visits", "printing", "sync", "settings"):
                window.show_screen(key)  # every screen made at 100 %
            shell.settings.set_text_scale(target_scale)
            app.processEvents()
        items = dict(targets(shell))
        if args.check:
            total = 0
            for name, opener in items.items():
                top = opener()
                for _ in range(3):
                    app.processEvents()
                problems = clipped_widgets(top)
                total += len(problems)
                print(f"== {name}: {len(problems)}")
                for p in problems:
                    print("   ", p)
                if top is not window:
                    top.close()
            app.exit(1 if total else 0)
            return
        if args.show:
            items[args.show]()

    shell.start(db, on_ready=lambda: QTimer.singleShot(300, ready))
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())

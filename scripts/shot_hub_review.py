"""Show 同步与交接 → 办公室待审 on the office's administrator computer with a filled review queue.

    python scripts/shot_hub_review.py [--scale 150] [--tab office]
    xshot out.png --size 1366x768 --wait 12 -- python scripts/shot_hub_review.py --scale 150

A real hub on loopback (SQLite, in a temp folder), the office enrolled for all grids, a grid
worker's laptop whose edits after a move, a changed copy and a conflict wait for the office.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=int, default=100)
    parser.add_argument("--tab", choices=("review", "office"), default="review")
    args = parser.parse_args()
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from db.store import Store
    from db.sync import hub_client
    from desktop.appearance import apply_text_scale
    from desktop.context import AppContext
    from desktop.errors import ErrorReporter
    from desktop.settings import Settings
    from desktop.tasks import TaskRunner
    from hub.server import ThreadedHub
    from hub.tls import make_certificate
    from tests.hub_helpers import Laptop, enrol_code, office_with_grids
    from tests.test_hub_features import make_review_items
    from views.sync.screen import SyncScreen

    app = QApplication.instance() or QApplication(sys.argv)
    apply_text_scale(args.scale, app)
    folder = Path(tempfile.mkdtemp(prefix="griddesk-review-"))
    cert, key, pin = make_certificate(folder / "tls", ["127.0.0.1", "localhost"])
    hub = ThreadedHub(str(folder / "hub.sqlite"), cert, key).start()
    store = Store(folder / "office.sqlite", user="李娜")
    hub_client.enrol(store, enrol_code(hub, pin, None, "社区办公室"))
    office = Laptop.__new__(Laptop)
    office.name, office.store = "office", store
    g1, g2 = office_with_grids(office)
    office.sync()
    a = Laptop(folder, "张伟").enrol(hub, pin, [g1])
    a.sync()
    make_review_items({"hub": hub, "pin": pin, "office": office, "a": a, "g1": g1, "g2": g2})
    errors = ErrorReporter(modal=False)
    settings = Settings(QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat))
    ctx = AppContext(store=store, tasks=TaskRunner(errors, synchronous=True), errors=errors, settings=settings,
                     user=store.user)
    screen = SyncScreen(ctx)
    screen.setWindowTitle("GridDesk — 同步与交接")
    screen.resize(1366, 740)
    screen.show()
    screen.tabs.setCurrentWidget(screen.review_tab if args.tab == "review" else screen.office_tab)
    screen.review_tab.table.selectRow(0)
    app.exec()
    hub.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

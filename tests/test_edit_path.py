"""The path of one edit (a person's phone, in the person editor, until the list shows it) runs code
in exactly the project files that README's "The path of one edit" names: traced, not listed by hand."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

from db.register import households
from tests.register_helpers import first_unit
from views.households import HouseholdsScreen
from views.households.person_dialog import PersonDialog

ROOT = Path(__file__).resolve().parent.parent


def readme_path_files() -> set[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("**The path of one edit**"):text.index("**Pattern for a new register**")]
    return set(re.findall(r"`((?:db|views|desktop|printouts|i18n|hub)/[\w/]+\.py)`", section))


def traced_files(call) -> set[str]:
    """Project files (outside tests/) whose functions run during call().

    Qt event filters (`eventFilter`, e.g. desktop/fit_text.py's, installed on the whole application)
    see every event, an edit's as any other: a file whose only code that ran is one is not counted."""
    seen: dict[str, set[str]] = {}
    root = str(ROOT) + "/"

    def profile(frame, event, _arg):
        if event == "call":
            name = frame.f_code.co_filename
            if name.startswith(root) and "/tests/" not in name and "/.venv/" not in name:
                seen.setdefault(name[len(root):], set()).add(frame.f_code.co_name)

    sys.setprofile(profile)
    try:
        call()
    finally:
        sys.setprofile(None)
    return {name for name, functions in seen.items() if functions != {"eventFilter"}}


def test_the_phone_edit_runs_only_the_files_the_readme_names(ctx, qtbot, store):
    from desktop import fit_text

    fit_text.install(QApplication.instance())  # the application's event filter, as the app has it
    u = first_unit(store)
    changes = households.register_household(store, household={"unit_id": u, "door": "101"},
                                            members=[{"relation": "户主", "name": "张三", "birth_date": "1950-01-01"}])
    pid = next(ch.row_id for ch in changes if ch.table == "person")
    screen = HouseholdsScreen(ctx)
    qtbot.addWidget(screen)
    screen.show()
    model = screen.browser.model
    qtbot.waitUntil(lambda: model.rowCount() == 1 and model.row(0) is not None, timeout=5000)
    dialog = PersonDialog(ctx, person_id=pid)
    qtbot.addWidget(dialog)
    dialog.inputs["phone"].setText("13900001111")

    def edit() -> None:
        dialog.save()
        assert model.row(0)["phone"] == "13900001111"  # the list shows it: the whole path ran

    files = traced_files(edit)
    named = readme_path_files()
    assert files == named, (f"ran but not named: {sorted(files - named)}; named but did not run: "
                            f"{sorted(named - files)}")
    assert len(files) <= 22  # the figure README gives; more is a longer path


def test_the_trace_sees_a_file_that_joins_the_path(ctx, qtbot, store):
    """The comparison can fail: a call into another project file shows up."""
    from db import validation

    files = traced_files(lambda: validation.normalize_phone("139 0000 1111"))
    assert files == {"db/validation.py"}

"""Shared steps of the ledger screen tests."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures" / "ledger"


def import_through_wizard(ctx, qtbot, path: Path = FIXTURES / "gbk.csv"):
    """The import wizard on this file, shown and clicked through its three steps (the import done)."""
    from views.ledger.import_wizard import ImportWizard

    wizard = ImportWizard(ctx, path=str(path))
    qtbot.addWidget(wizard)
    wizard.show()
    for _step in range(3):
        wizard.next()
    return wizard


def preview_of_a_changed_phone(ctx, qtbot, folder: Path):
    """gbk.csv imported, then a copy of it with one phone number changed opened in the import wizard
    on the preview, filtered to the updates."""
    from views.ledger.import_wizard import ImportWizard

    import_through_wizard(ctx, qtbot)
    src = folder / "gbk2.csv"
    src.write_bytes((FIXTURES / "gbk.csv").read_bytes().replace(b"13611112222", b"13611119999"))
    wizard = ImportWizard(ctx, path=str(src))
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.next()
    wizard.next()
    wizard.preview_page.filter_combo.setCurrentIndex(2)  # updates
    return wizard

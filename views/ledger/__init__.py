"""Ledger import and export widgets, used from the households screen and from the main menu:

    from views.ledger import open_import_wizard, open_export_dialog
    open_import_wizard(ctx, parent=self)
    open_export_dialog(ctx, parent=self, people=PeopleFilter(building="3栋"))
"""

from __future__ import annotations


def open_import_wizard(ctx, parent=None, path: str | None = None):
    from views.ledger.import_wizard import ImportWizard

    wizard = ImportWizard(ctx, parent, path=path)
    wizard.open()
    return wizard


def open_export_dialog(ctx, parent=None, people=None):
    from views.ledger.export_dialog import ExportDialog

    dialog = ExportDialog(ctx, parent, people=people)
    dialog.open()
    return dialog


def open_import_history(ctx, parent=None):
    from views.ledger.history import ImportHistoryDialog

    dialog = ImportHistoryDialog(ctx, parent)
    dialog.open()
    return dialog

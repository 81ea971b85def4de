"""Keyboard shortcuts of the main window: no key may mean two things at once (Qt then runs neither)."""

from __future__ import annotations

from collections import defaultdict

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QWidget
from shell_helpers import make_settings, start_shell, stop_shell

import views

WINDOW_CONTEXTS = (Qt.ShortcutContext.WindowShortcut, Qt.ShortcutContext.ApplicationShortcut)


@pytest.fixture
def window(qtbot, tmp_path):
    shell = start_shell(qtbot, make_settings(tmp_path), tmp_path / "griddesk.sqlite")
    for key, _label, _spec in views.SCREENS:
        shell.window.get_screen(key)  # every screen's own shortcuts take part
    yield shell.window
    stop_shell(shell)


def _bindings(window) -> list[tuple[str, str, Qt.ShortcutContext, QWidget | None]]:
    """(key text, what, context, owning widget) for every action and QShortcut in the window."""
    found = []
    for action in window.findChildren(QAction):
        widgets = [w for w in action.associatedObjects() if isinstance(w, QWidget)]
        if not widgets:
            continue  # an action in no menu or widget never fires
        for seq in action.shortcuts():
            if not seq.isEmpty():
                found.append((seq.toString(), f"action {action.text()!r}", action.shortcutContext(), widgets[0]))
    for sc in window.findChildren(QShortcut):
        owner = sc.parent()
        name = owner.objectName() or type(owner).__name__
        for seq in sc.keys():
            if not seq.isEmpty():
                found.append((seq.toString(), f"shortcut on {name}", sc.context(), owner))
    return found


def _contains(outer: QWidget, inner: QWidget) -> bool:
    return outer is inner or outer.isAncestorOf(inner)


def _overlap(a, b) -> bool:
    """Whether two bindings can be live for the same focus widget."""
    _ka, _wa, ctx_a, widget_a = a
    _kb, _wb, ctx_b, widget_b = b
    if ctx_a in WINDOW_CONTEXTS or ctx_b in WINDOW_CONTEXTS:
        return True
    if ctx_a == Qt.ShortcutContext.WidgetShortcut and ctx_b == Qt.ShortcutContext.WidgetShortcut:
        return widget_a is widget_b
    if ctx_a == Qt.ShortcutContext.WidgetShortcut:
        return _contains(widget_b, widget_a)
    if ctx_b == Qt.ShortcutContext.WidgetShortcut:
        return _contains(widget_a, widget_b)
    return _contains(widget_a, widget_b) or _contains(widget_b, widget_a)


def test_no_two_shortcuts_share_a_key_in_the_same_context(window):
    by_key = defaultdict(list)
    for binding in _bindings(window):
        by_key[binding[0]].append(binding)
    assert "Ctrl+N" in by_key and "Ctrl+1" in by_key  # the collection sees both kinds
    clashes = []
    for key, bindings in by_key.items():
        for i, a in enumerate(bindings):
            for b in bindings[i + 1:]:
                if _overlap(a, b):
                    clashes.append(f"{key}: {a[1]} / {b[1]}")
    assert clashes == []


def test_ctrl_n_is_the_households_new_household_and_new_database_has_its_own_key(window):
    assert window.action_new.shortcut() == QKeySequence("Ctrl+Shift+N")
    browser = window.get_screen("households").browser
    ctrl_n = [sc for sc in browser.findChildren(QShortcut) if sc.key() == QKeySequence("Ctrl+N")]
    assert len(ctrl_n) == 1

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

import i18n  # noqa: E402

# The hub fixtures of tests/hub_helpers.py, offered to every test module.
from tests.hub_helpers import hub, hub_cert, hub_data, laptops, sqlite_hub  # noqa: E402, F401


@pytest.fixture(autouse=True)
def _chinese_by_default():
    i18n.set_language("zh_CN")
    yield
    i18n.set_language("zh_CN")


@pytest.fixture
def store(tmp_path):
    """A fresh GridDesk database file, bound to the models."""
    from db.store import Store

    s = Store(tmp_path / "griddesk.sqlite", user="测试员")
    yield s
    s.close()


@pytest.fixture
def ctx(store, tmp_path, qtbot):
    """An AppContext for screen tests: real store, tasks run inline, settings in a temp file,
    errors open non-modal boxes (see ctx.errors.last_message)."""
    from PySide6.QtCore import QSettings

    from desktop.context import AppContext
    from desktop.errors import ErrorReporter
    from desktop.settings import Settings
    from desktop.tasks import TaskRunner

    errors = ErrorReporter(modal=False)
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    context = AppContext(store=store, tasks=TaskRunner(errors, synchronous=True), errors=errors,
                         settings=settings, user=store.user)
    yield context
    context.tasks.shutdown(wait=True)

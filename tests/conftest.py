import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

from desktop import i18n  # noqa: E402


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

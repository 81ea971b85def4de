"""Qt's own strings that Qt's shipped catalogues lack for our languages.

Qt 6 relabelled some widgets of its file dialog ("&Look in:", "Files of &type:") and moved the
file types ("Folder") to another context; the shipped qtbase_zh_CN.qm still carries only the old
texts, so a Chinese file dialog showed English labels. The disambiguation Qt passes is ignored. This translator answers for those strings only; every other
string is left to Qt's catalogues (a null answer, None, makes Qt ask the next translator).
"""

from __future__ import annotations

from PySide6.QtCore import QTranslator

SUPPLEMENTS: dict[str, dict[tuple[str, str], str]] = {
    "zh_CN": {
        ("QFileDialog", "&Look in:"): "查找范围(&L)：",
        ("QFileDialog", "Look in:"): "查找范围：",
        ("QFileDialog", "Files of &type:"): "文件类型(&T)：",
        ("QFileDialog", "Files of type:"): "文件类型：",
        ("QFileDialog", "File &name:"): "文件名称(&N)：",
        ("QFileDialog", "&Directory:"): "目录(&D)：",
        # The file list's 类型 column: Qt 6 moved these from QFileDialog to this context.
        ("QAbstractFileIconProvider", "Folder"): "文件夹",
        ("QAbstractFileIconProvider", "File Folder"): "文件夹",
        ("QAbstractFileIconProvider", "Drive"): "驱动器",
        ("QAbstractFileIconProvider", "File"): "文件",
        ("QAbstractFileIconProvider", "%1 File"): "%1 文件",
        ("QAbstractFileIconProvider", "Alias"): "替身",
        ("QAbstractFileIconProvider", "Shortcut"): "快捷方式",
        ("QAbstractFileIconProvider", "Unknown"): "未知",
    },
}


class SupplementTranslator(QTranslator):
    """A QTranslator over a small dict: (context, source) -> translation."""

    def __init__(self, lang: str, parent=None):
        super().__init__(parent)
        self.messages = SUPPLEMENTS.get(lang, {})

    def isEmpty(self) -> bool:  # noqa: N802 - Qt API
        return not self.messages

    def translate(self, context, source_text, disambiguation=None, n=-1):  # noqa: D401 - Qt API
        return self.messages.get((context, source_text))  # None: a null string, Qt asks the next one

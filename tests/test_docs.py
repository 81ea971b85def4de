"""The README documents every command of the command line (a cheap way to keep it honest)."""

from __future__ import annotations

from pathlib import Path

from desktop.cli import build_parser

README = Path(__file__).resolve().parent.parent / "README.md"


def test_every_cli_command_is_in_the_readme():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    text = README.read_text(encoding="utf-8")
    missing = [name for name in sub.choices if f"`griddesk {name}" not in text]
    assert not missing, f"commands missing from README.md: {missing}"


def test_readme_quick_start_has_the_two_commands():
    text = README.read_text(encoding="utf-8")
    assert "make run" in text and "make test" in text

"""The `griddesk` command: with no arguments it opens the app; subcommands work without a window.

Each area adds its commands in a module of desktop/commands/ with a `register(subparsers)`
function, listed in COMMAND_MODULES.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from i18n import _, set_language

COMMAND_MODULES = [
    "desktop.commands.core",
    "desktop.commands.ledger",
    "desktop.commands.meetings",
    "desktop.commands.printing",
    "desktop.commands.sync",
    "desktop.commands.volunteers",

    "desktop.commands.accounts",
]


# argparse's own texts (usage, headings, help of -h, errors), translated through our catalogue
# (resources/locale/*/first_day.po): argparse looks its `_` and `ngettext` up when it needs them.
ARGPARSE_MESSAGES = (
    "usage: ", "positional arguments", "options", "show this help message and exit",
    "the following arguments are required: %s", "unrecognized arguments: %s",
    "invalid choice: %(value)r (choose from %(choices)s)", "%(prog)s: error: %(message)s\n",
    "expected one argument", "argument %(argument_name)s: %(message)s", "not allowed with argument %s",
    "one of the arguments %s is required", "invalid %(type)s value: %(value)r", "ambiguous option: %(option)s could match %(matches)s",
    "expected at least one argument", "expected at most one argument", "ignored explicit argument %r",
    "unknown parser %(parser_name)r (choices: %(choices)s)", "show program's version number and exit",
)


def _translate_argparse() -> None:
    import i18n

    argparse._ = i18n._
    argparse.ngettext = i18n.ngettext


def build_parser() -> argparse.ArgumentParser:
    _translate_argparse()
    parser = argparse.ArgumentParser(prog="griddesk", description=_("GridDesk: community grid ledgers"))
    parser.add_argument("--lang", choices=["zh_CN", "en"], help=_("interface language"))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    gui = sub.add_parser("gui", help=_("open the main window (the default)"))
    gui.add_argument("--db", help=_("database file (default: the one in your data folder)"))
    gui.set_defaults(func=_run_gui)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    from desktop.commands.login import add_login_options

    add_login_options(sub)  # --login for every command with --db (an encrypted database needs it)
    return parser


def _run_gui(args) -> int:
    from desktop import splash

    splash.show_early_window()  # (already up when main() saw the arguments open the window)
    splash.set_text(_("Starting…"))
    from desktop.app import main as gui_main  # the database layer and the screens: ~1 s more

    return gui_main(db_path=getattr(args, "db", None), lang=getattr(args, "lang", None))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    lang = None
    if "--lang" in argv:
        i = argv.index("--lang")
        if i + 1 < len(argv):
            lang = argv[i + 1]
    from desktop.launch import opens_the_window

    if opens_the_window(argv):
        from desktop import splash

        splash.show_early_window()  # painted before the catalogue, the commands and the database layer load
    set_language(lang or "zh_CN")
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        return _run_gui(args)
    from db.errors import GridDeskError

    try:
        from desktop.commands.login import sign_in

        sign_in(args)
        return int(args.func(args) or 0)
    except GridDeskError as exc:
        print(_("Error: {message}").format(message=exc.message), file=sys.stderr)
        return 2
    except BrokenPipeError:
        # `griddesk info | head`: the reader went away; that is not an error.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())

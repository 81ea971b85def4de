"""Log in on the command line: every `griddesk` command with --db takes --login NAME (and the
password from --password-file, GRIDDESK_PASSWORD or a prompt). With accounts set up (an encrypted
database) a command refuses to start without it; with it, the login is checked once (a wrong
password makes the next try wait, as in the app), audited, and every database the command opens
at that path carries the account: its role and grids are enforced by the db/ services as in the app.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from i18n import _

# Commands that log in themselves (desktop/commands/accounts.py), or that make a new database.
_OWN_LOGIN = {"audit", "accounts", "retention", "gui"}  # gui: the window's own login screen


def add_login_options(sub: argparse._SubParsersAction) -> None:
    """Give --login and --password-file to every subcommand that has --db and lacks them."""
    for name, parser in sub.choices.items():
        if name in _OWN_LOGIN:
            continue
        options = {o for action in parser._actions for o in action.option_strings}
        if "--db" in options and "--login" not in options:
            parser.add_argument("--login", help=_("account name (encrypted database)"))
            parser.add_argument("--password-file", help=_("file holding the password (first line)"))


def sign_in(args) -> None:
    """Before a command runs: log in to its database when that database has accounts."""
    from db.accounts import service
    from db.accounts.session import sign_in_process
    from db.errors import GridDeskError
    from db.store import Store
    from desktop.commands.accounts import _read_secret

    if getattr(args, "command", None) in _OWN_LOGIN or not getattr(args, "db", None):
        return
    path = Path(args.db)
    if not service.has_accounts(path):
        return
    login = getattr(args, "login", None)
    if not login:
        raise GridDeskError(_("“{path}” has accounts: give --login NAME and the password (--password-file FILE, "
                              "the GRIDDESK_PASSWORD variable, or type it when asked).").format(path=path))
    unlocked = service.unlock(path, login=login, password=_read_secret(args.password_file, _("Password: ")))
    store = Store(path, user=unlocked.login, key=unlocked.key, create=False)
    try:
        session = service.start_session(store, unlocked)
    finally:
        store.close()
    sign_in_process(path, session)

"""Which start this is, decided from the arguments alone (no Qt, no catalogue: the command line
must not pay for Qt, and the window must not wait for anything else)."""

from __future__ import annotations


def opens_the_window(argv: list[str]) -> bool:
    """Whether these command-line arguments start the window (none, or `gui`), not a command or -h."""
    rest = list(argv)
    if "--lang" in rest:
        i = rest.index("--lang")
        del rest[i:i + 2]
    if "-h" in rest or "--help" in rest:
        return False
    return not rest or rest[0] == "gui"

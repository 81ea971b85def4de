"""Grep for plain text: residents' names, ID numbers and addresses, and the files that still show them."""

from __future__ import annotations

from pathlib import Path


def resident_secrets(store, limit: int) -> list[tuple[str, str, str]]:
    """(name, ID number, address) of `limit` residents: what no encrypted file may show."""
    return store.db.execute_sql(
        "select p.name, p.id_number, h.address from person p join membership m on m.person_id = p.id "
        "join household h on h.id = m.household_id where p.id_number is not null and h.address is not null "
        f"and length(p.name) >= 2 limit {int(limit)}").fetchall()


def leaks(files: list[Path], secrets) -> list[tuple[str, str]]:
    """(file name, value) for every secret value found as UTF-8 bytes in one of the files."""
    found = []
    for f in files:
        data = f.read_bytes()
        for row in secrets:
            for value in row:
                if value and value.encode("utf-8") in data:
                    found.append((f.name, value))
    return found

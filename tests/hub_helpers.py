"""Fixtures for the office hub tests: a real hub on loopback with TLS, on SQLite and on PostgreSQL.

PostgreSQL: the cluster named by GRIDDESK_TEST_PG (postgresql://user@host:port/db; .ci/run starts
one); each test gets a database of its own. Without the variable the PostgreSQL half is skipped
with a loud warning (never silently).
"""

from __future__ import annotations

import os
import secrets
import warnings
from pathlib import Path

import pytest

from db import oplog
from db.models.register import Grid, Household, Membership, Person
from db.store import Store
from db.sync import hub_client
from db.sync.hub_protocol import make_code_text
from hub.server import ThreadedHub
from hub.tls import make_certificate

PG_ENV = "GRIDDESK_TEST_PG"
BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def hub_cert(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tls")
    cert, key, pin = make_certificate(folder, ["127.0.0.1", "localhost"])
    return cert, key, pin


def _pg_database(base: str) -> tuple[str, callable]:
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    name = "hubtest_" + secrets.token_hex(4)
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"create database {name}")
    url = urlunsplit(urlsplit(base)._replace(path="/" + name))
    assert url.startswith("postgresql://"), url

    def drop():
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"drop database if exists {name} with (force)")
    return url, drop


@pytest.fixture(params=BACKENDS)
def hub_data(request, tmp_path):
    """The hub's data URL for one backend (a fresh SQLite file or a fresh PostgreSQL database)."""
    if request.param == "sqlite":
        yield str(tmp_path / "hub.sqlite")
        return
    base = os.environ.get(PG_ENV)
    if not base:
        message = (f"!!! {PG_ENV} is not set: the PostgreSQL half of the hub suite is SKIPPED. "
                   "Run .ci/run (it starts a cluster) or set it to postgresql://... !!!")
        warnings.warn(message, stacklevel=1)
        pytest.skip(message)
    url, drop = _pg_database(base)
    yield url
    drop()


@pytest.fixture
def hub(hub_data, hub_cert):
    cert, key, _pin = hub_cert
    h = ThreadedHub(hub_data, cert, key).start()
    yield h
    h.stop()


def enrol_code(hub, pin: str, grids, name: str = "") -> str:
    code = hub.service.create_code(grids=None if grids is None else frozenset(grids), name=name)
    return make_code_text(hub.address, pin, code)


class Laptop:
    """A desktop database enrolled at the hub."""

    def __init__(self, folder: Path, name: str):
        self.name = name
        self.store = Store(folder / f"{name}.sqlite", user=name)

    def enrol(self, hub, pin: str, grids) -> Laptop:
        hub_client.enrol(self.store, enrol_code(hub, pin, grids, self.name))
        return self

    def sync(self, **kw) -> hub_client.SyncResult:
        return hub_client.sync(self.store, **kw)

    def write(self, model, rows):
        return oplog.write(self.store, model, rows)

    def rows(self, table: str) -> dict[str, dict]:
        cur = self.store.db.execute_sql(f'select * from "{table}"')
        names = [d[0] for d in cur.description]
        return {r[0]: dict(zip(names, r, strict=True)) for r in cur.fetchall()}

    def ids(self, table: str) -> set[str]:
        return {r for (r,) in self.store.db.execute_sql(f'select id from "{table}"')}

    def close(self):
        self.store.close()


@pytest.fixture
def laptops(tmp_path):
    made: list[Laptop] = []

    def make(name: str) -> Laptop:
        laptop = Laptop(tmp_path, name)
        made.append(laptop)
        return laptop
    yield make
    for laptop in made:
        laptop.close()


def office_with_grids(office: Laptop, names=("一网格", "二网格")) -> list[str]:
    changes = office.write(Grid, [{"name": n, "code": f"G{i + 1}"} for i, n in enumerate(names)])
    return [c.row_id for c in changes]


def add_household(laptop: Laptop, grid: str, *, people: int = 2, number: str = "1-101") -> tuple[str, list[str]]:
    hh = laptop.write(Household, [{"grid": grid, "number": number, "address": f"幸福路{number}"}])[0].row_id
    persons = [c.row_id for c in laptop.write(Person, [{"name": f"居民{number}-{i}", "phone": f"1380000{i:04d}"}
                                                       for i in range(people)])]
    laptop.write(Membership, [{"household": hh, "person": p, "relation": "户主" if i == 0 else "子女"}
                              for i, p in enumerate(persons)])
    return hh, persons

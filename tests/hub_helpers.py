"""Fixtures for the office hub tests: a real hub on loopback with TLS, on SQLite and on PostgreSQL.

tests/conftest.py offers the fixtures (hub_cert, hub_data, hub, sqlite_hub, laptops) to every test module, so a
module only imports the plain helpers; the hub and its client are imported when a fixture runs.

PostgreSQL: the cluster named by GRIDDESK_TEST_PG (postgresql://user@host:port/db; .ci/run starts
one); each test gets a database of its own. Without the variable the PostgreSQL half is skipped
with a loud warning (never silently).
"""

from __future__ import annotations

import os
import secrets
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from db import oplog
from db.models.register import Grid, Household, Membership, Person
from db.store import Store

if TYPE_CHECKING:
    from db.sync import hub_client

PG_ENV = "GRIDDESK_TEST_PG"
BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def hub_cert(tmp_path_factory):
    from hub.tls import make_certificate

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


def _running_hub(data: str, hub_cert):
    from hub.server import ThreadedHub

    cert, key, _pin = hub_cert
    h = ThreadedHub(data, cert, key).start()
    yield h
    h.stop()


@pytest.fixture
def hub(hub_data, hub_cert):
    yield from _running_hub(hub_data, hub_cert)


@pytest.fixture
def sqlite_hub(tmp_path, hub_cert):
    """A hub on a fresh SQLite file only (the screen tests need not run on both backends)."""
    yield from _running_hub(str(tmp_path / "hub.sqlite"), hub_cert)


def enrol_code(hub, pin: str, grids, name: str = "") -> str:
    from db.sync.hub_protocol import make_code_text

    code = hub.service.create_code(grids=None if grids is None else frozenset(grids), name=name)
    return make_code_text(hub.address, pin, code)


class Laptop:
    """A desktop database enrolled at the hub."""

    def __init__(self, folder: Path, name: str):
        self.name = name
        self.store = Store(folder / f"{name}.sqlite", user=name)

    def enrol(self, hub, pin: str, grids) -> Laptop:
        from db.sync import hub_client

        hub_client.enrol(self.store, enrol_code(hub, pin, grids, self.name))
        return self

    def sync(self, **kw) -> hub_client.SyncResult:
        from db.sync import hub_client

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


def make_world(hub, pin: str, laptops, *, with_b: bool = False) -> dict:
    """The office (all grids) with two grids; laptop A for grid 1 (and laptop B for grid 2 when
    with_b), each synced once: {"hub", "pin", "office", "a", ("b",) "g1", "g2"}."""
    office = laptops("office").enrol(hub, pin, None)
    g1, g2 = office_with_grids(office)
    office.sync()
    world = {"hub": hub, "pin": pin, "office": office, "g1": g1, "g2": g2}
    world["a"] = laptops("zhang").enrol(hub, pin, [g1])
    if with_b:
        world["b"] = laptops("li").enrol(hub, pin, [g2])
    world["a"].sync()
    if with_b:
        world["b"].sync()
    return world

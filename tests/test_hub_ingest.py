# ruff: noqa: F811 - the fixtures imported from tests.hub_helpers are used as arguments
"""The hub's push path as the ingest work left it, on both backends: the link indexes of hub_row
are partial (an older hub's are made again), and rows that enter a grid in a later push bring
their earlier ops into that grid's feed (read as ids only)."""

from __future__ import annotations

import uuid

import orjson

from hub.service import Device, HubService
from hub.storage import open_storage
from tests.hub_helpers import hub_data  # noqa: F401 - fixture

NODE = "a1b2c3d4e5f60718"


def _op(counter: int, tbl: str, row_id: str, fields: dict) -> list:
    return [NODE, counter, tbl, row_id, orjson.dumps(fields).decode(), "{}",
            f"{1_700_000_000_000 + counter:016d}-{counter:06d}-{NODE}", "office", 16, "edit"]


def test_an_older_hubs_link_indexes_are_made_partial(hub_data):
    storage = open_storage(hub_data)
    try:
        with storage.write() as conn:
            for name, column in (("hub_row_h", "h"), ("hub_row_p", "p")):
                storage.execute(conn, f"drop index {name}")
                storage.execute(conn, f"create index {name} on hub_row ({column})")  # as an older hub made them
    finally:
        storage.close()
    storage = open_storage(hub_data)
    try:
        with storage.read() as conn:
            for name, column in (("hub_row_h", "h"), ("hub_row_p", "p")):
                text = storage.index_sql(conn, name).lower()
                assert f"where {column} is not null" in text or f"where ({column} is not null)" in text, text
    finally:
        storage.close()


def test_persons_entering_a_grid_later_bring_their_ops_to_its_feed(hub_data):
    storage = open_storage(hub_data)
    service = HubService(storage)
    try:
        grid = str(uuid.uuid4())
        office = Device("office", "office", "key", None, NODE, None, None)
        worker = Device("worker", "worker", "key", None, "f" * 16, frozenset({grid}), None)
        persons = [str(uuid.uuid4()) for _ in range(3)]
        household = str(uuid.uuid4())
        first = [_op(i + 1, "person", p, {"name": f"居民{i}"}) for i, p in enumerate(persons)]
        first.append(_op(4, "household", household, {"grid_id": grid, "number": "1"}))
        assert service.push(office, first).stored == 4
        epoch = service.meta()["epoch"]
        page = service.pull(worker, epoch=epoch, cursor=0)
        assert [i[4] for i in page["items"] if i[0] == "op"] == [household]  # no person is in the grid yet
        second = [_op(5 + i, "membership", str(uuid.uuid4()), {"household_id": household, "person_id": p,
                                                              "relation": "户主"}) for i, p in enumerate(persons)]
        assert service.push(office, second).stored == 3
        page = service.pull(worker, epoch=epoch, cursor=page["cursor"])
        got = sorted((i[3], i[4]) for i in page["items"] if i[0] == "op")
        assert got == sorted([("person", p) for p in persons] + [("membership", op[3]) for op in second])
        # A retried push stores nothing twice and adds nothing to the feed.
        again = service.push(office, second)
        assert (again.stored, again.duplicates) == (0, 3)
        assert service.pull(worker, epoch=epoch, cursor=page["cursor"])["items"] == []
    finally:
        storage.close()

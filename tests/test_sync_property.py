"""Property-based: replicas editing offline and exchanging bundles converge and lose nothing.

3 to 5 replicas (real database files) with skewed clocks make random edits, deletes and
resolutions of Person/Household rows; bundles are lost, duplicated, reordered and relayed. After a
final round of exchanges every replica has the same content, every write is in every log, a
conflict exists exactly where the writes to a field were concurrent (an independent causal model
says which), and the tables equal a rebuild from the log.
"""

from __future__ import annotations

import json
import time

from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from db import oplog
from db.clock import HybridClock
from db.models.register import Household, Person
from db.sync import exchange, identity
from db.sync.conflicts import list_conflicts, resolve_conflict
from tests.sync_helpers import content, make_replicas, synced_content

FIELDS = {"person": ["name", "phone", "notes"], "household": ["address", "notes"]}
MODELS = {"person": Person, "household": Household}
DAY = 86_400


class World:
    def __init__(self, folder, n: int, skews: list[float]):
        self.stores = make_replicas(folder, [f"r{i}" for i in range(n)])
        self.ids = [identity.identity(s).device_id for s in self.stores]
        for s, skew in zip(self.stores, skews, strict=True):
            s.clock = HybridClock(s.node_id, s.clock.last, wall=lambda skew=skew: time.time() + skew)
        self.writes: dict[str, dict] = {}  # op id -> {tbl,row,fields,seen{field:set}}
        self.in_flight: list[tuple[bytes, int, int]] = []  # (bundle, sender, intended receiver)
        self.value_counter = 0

    def value(self) -> str:
        self.value_counter += 1
        return f"值{self.value_counter}"

    def rows(self, r: int, tbl: str) -> list[str]:
        return [x for (x,) in self.stores[r].db.execute_sql(f'select id from "{tbl}" order by id')]

    def _seen(self, r: int, tbl: str, row_id: str, fields) -> dict[str, set[str]]:
        seen: dict[str, set[str]] = {f: set() for f in fields}
        for node, counter, raw in self.stores[r].db.execute_sql(
                "select node, counter, fields from oplog where tbl = ? and row_id = ?", (tbl, row_id)):
            for f in json.loads(raw):
                if f in seen:
                    seen[f].add(f"{node}:{counter}")
        return seen

    def write(self, r: int, tbl: str, row: dict, kind: str = "edit", resolve_field: str | None = None):
        store = self.stores[r]
        with store.activated():
            if kind == "resolve":
                seen = self._seen(r, tbl, row["id"], [resolve_field])
                changes = resolve_conflict(store, tbl, row["id"], resolve_field, row[resolve_field])
            else:
                fields = [k for k in row if k != "id"] + ["deleted"]
                seen = self._seen(r, tbl, row["id"], fields) if "id" in row else {}
                changes = oplog.write(store, MODELS[tbl], [row])
        for ch in changes:
            self.writes[ch.op] = {"tbl": tbl, "row": ch.row_id, "fields": dict(ch.fields),
                                  "seen": {f: seen.get(f, set()) for f in ch.fields}}

    def export(self, src: int, dst: int) -> None:
        store = self.stores[src]
        others = tuple(self.ids[i] for i in range(len(self.stores)) if i not in (src, dst))
        with store.activated():
            data = exchange.export_bundle(store, for_device=self.ids[dst], also_for=others).data
        self.in_flight.append((data, src, dst))

    def deliver(self, data: bytes, src: int, to: int, twice: bool, receipt: bool) -> None:
        store = self.stores[to]
        with store.activated():
            bundle = exchange.read_bundle(store, data)
            exchange.import_bundle(store, bundle)
            if twice:
                after = content(store)
                again = exchange.import_bundle(store, exchange.read_bundle(store, data))
                assert again.new_ops == 0
                assert content(store) == after
            receipt_data = exchange.make_receipt(store, bundle).data if receipt else None
        if receipt_data:
            sender = self.stores[src]
            with sender.activated():
                exchange.import_bundle(sender, exchange.read_bundle(sender, receipt_data))

    def settle(self) -> None:
        n = len(self.stores)
        for _round in range(2):
            for i in range(n):
                for j in range(n):
                    if i != j:
                        self.export(i, j)
                        data, src, dst = self.in_flight.pop()
                        self.deliver(data, src, dst, twice=False, receipt=True)

    def hlc(self, op_id: str) -> str:
        node, counter = op_id.rsplit(":", 1)
        return self.stores[0].db.execute_sql("select hlc from oplog where node = ? and counter = ?",
                                             (node, int(counter))).fetchone()[0]

    def expected(self):
        """Per (table, row, field): the live writes by the causal model, the value shown, conflict or not."""
        by_field: dict[tuple[str, str, str], list[str]] = {}
        for op_id, w in self.writes.items():
            for f in w["fields"]:
                by_field.setdefault((w["tbl"], w["row"], f), []).append(op_id)
        conflicts, values = set(), {}
        for key, ops in by_field.items():
            live = [o for o in ops if not any(o in self.writes[o2]["seen"].get(key[2], ()) for o2 in ops if o2 != o)]
            distinct = {json.dumps(self.writes[o]["fields"][key[2]]) for o in live}
            if len(distinct) > 1:
                conflicts.add(key)
            newest = max(live, key=self.hlc)
            values[key] = self.writes[newest]["fields"][key[2]]
        return conflicts, values

    def close(self):
        for s in self.stores:
            s.close()


action = st.one_of(
    st.tuples(st.just("edit"), st.integers(0, 4), st.sampled_from(["person", "household"]), st.integers(0, 9),
              st.integers(0, 2)),
    st.tuples(st.just("create"), st.integers(0, 4), st.sampled_from(["person", "household"])),
    st.tuples(st.just("delete"), st.integers(0, 4), st.sampled_from(["person", "household"]), st.integers(0, 9)),
    st.tuples(st.just("resolve"), st.integers(0, 4), st.integers(0, 9), st.booleans()),
    st.tuples(st.just("export"), st.integers(0, 4), st.integers(0, 4)),
    st.tuples(st.just("deliver"), st.integers(0, 20), st.integers(0, 4), st.booleans(), st.booleans(),
              st.booleans()),
    st.tuples(st.just("lose"), st.integers(0, 20)),
    st.tuples(st.just("sync"), st.integers(0, 4), st.integers(0, 4)),
    st.tuples(st.just("resolve"), st.integers(0, 4), st.integers(0, 9), st.booleans()),
)


@settings(max_examples=20, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
          suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(n=st.integers(3, 5), skews=st.lists(st.floats(-2 * DAY, 2 * DAY), min_size=5, max_size=5),
       actions=st.lists(action, min_size=10, max_size=60))
def test_replicas_converge(tmp_path_factory, n, skews, actions):
    world = World(tmp_path_factory.mktemp("replicas"), n, skews[:n])
    try:
        # A shared start: replica 0's rows handed to everyone.
        world.write(0, "person", {"name": "张三"})
        world.write(0, "household", {"address": "幸福路1号"})
        for j in range(1, n):
            world.export(0, j)
            data, src, dst = world.in_flight.pop()
            world.deliver(data, src, dst, twice=False, receipt=True)
        for a in actions:
            kind, r = a[0], a[1] % n
            if kind == "edit":
                rows = world.rows(r, a[2])
                if rows:
                    field = FIELDS[a[2]][a[4] % len(FIELDS[a[2]])]
                    world.write(r, a[2], {"id": rows[a[3] % len(rows)], field: world.value()})
            elif kind == "create":
                world.write(r, a[2], {FIELDS[a[2]][0]: world.value()})
            elif kind == "delete":
                rows = world.rows(r, a[2])
                if rows:
                    world.write(r, a[2], {"id": rows[a[3] % len(rows)], "deleted": 1})
            elif kind == "resolve":
                with world.stores[r].activated():
                    items = list_conflicts(world.stores[r])
                event(f"resolve_seen_conflicts={bool(items)}")
                if items:
                    item = items[a[2] % len(items)]
                    value = item.candidates[-1].value if a[3] else world.value()
                    if item.field == "deleted":
                        value = item.candidates[0].value
                    world.write(r, item.table, {"id": item.row_id, item.field: value}, kind="resolve",
                                resolve_field=item.field)
            elif kind == "export":
                dst = a[2] % n
                if dst != r:
                    world.export(r, dst)
            elif kind == "deliver" and world.in_flight:
                k = a[1] % len(world.in_flight)
                data, src, dst = world.in_flight[k]
                relay = a[3]
                to = (dst + 1 + a[2] % (n - 1)) % n if relay else dst
                if to == src:
                    to = dst
                world.deliver(data, src, to, twice=a[4], receipt=a[5])
                if not a[4]:  # kept in flight when "duplicated": it may be delivered again later
                    world.in_flight.pop(k)
            elif kind == "sync" and a[2] % n != r:
                world.export(r, a[2] % n)
                data, src, dst = world.in_flight.pop()
                world.deliver(data, src, dst, twice=False, receipt=True)
            elif kind == "lose" and world.in_flight:
                world.in_flight.pop(a[1] % len(world.in_flight))
        world.settle()

        reference = synced_content(world.stores[0])
        expected_conflicts, expected_values = world.expected()
        for store in world.stores:
            assert synced_content(store) == reference
            assert oplog.compare_with_log(store) == []
            ops = {f"{node}:{c}" for node, c in store.db.execute_sql("select node, counter from oplog")}
            assert set(world.writes) <= ops, "a write was lost"
        event(f"conflicts={min(len(expected_conflicts), 3)}")
        resolutions = world.stores[0].db.execute_sql("select count(*) from oplog where kind = 'resolve'").fetchone()[0]
        event(f"resolutions={min(resolutions, 2)}")
        got_conflicts = set(world.stores[0].db.execute_sql("select tbl, row_id, field from conflict").fetchall())
        assert got_conflicts == expected_conflicts
        db = world.stores[0].db
        for (tbl, row, field), value in expected_values.items():
            actual = db.execute_sql(f'select "{field}" from "{tbl}" where id = ?', (row,)).fetchone()[0]
            assert actual == value, (tbl, row, field)
    finally:
        world.close()

"""Property test of the time bank on two laptops that edit offline and exchange bundles.

Random deposits (approved service, sometimes the same record approved on both laptops), withdrawals
(sometimes above the balance: refused, nothing written), transfers to an eligible spouse and
donations, with exchanges at random points; a team's group account gets group-service deposits
and refuses every withdrawal and transfer (hours earned by a group can only be donated). Checked: a laptop's own write never takes an account
below zero; hours are conserved (all balances add up to deposits less withdrawals, on each laptop at
every step); after the final exchange both laptops agree, the balances equal an independent model of
the accepted writes, the same approval on two laptops is one deposit, and every negative balance
(concurrent withdrawals merged) is reported by `overdrafts` and refuses further withdrawals.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from db import oplog
from db.errors import ValidationErrors
from db.models.register import Household, Membership, Person
from db.sync import exchange, identity
from db.volunteers import roster, service, timebank
from db.volunteers.common import POOL
from tests.sync_helpers import make_replicas

ON = dt.date(2026, 11, 1)

actions = st.lists(st.one_of(
    st.tuples(st.just("serve"), st.integers(0, 1), st.integers(0, 1), st.integers(1, 4)),
    st.tuples(st.just("withdraw"), st.integers(0, 1), st.integers(0, 1), st.integers(10, 400)),
    st.tuples(st.just("transfer"), st.integers(0, 1), st.integers(0, 1), st.integers(10, 200)),
    st.tuples(st.just("donate"), st.integers(0, 1), st.integers(0, 1), st.integers(10, 200)),
    st.tuples(st.just("approve_both"), st.integers(0, 1), st.integers(0, 1), st.integers(1, 3)),
    st.tuples(st.just("sync"), st.integers(0, 1), st.integers(0, 1), st.just(0)),
    st.tuples(st.just("group"), st.integers(0, 1), st.integers(0, 3), st.integers(10, 300)),
), min_size=1, max_size=14)


def _sync(stores, ids, src: int, dst: int) -> None:
    with stores[src].activated():
        data = exchange.export_bundle(stores[src], for_device=ids[dst]).data
    with stores[dst].activated():
        exchange.import_bundle(stores[dst], exchange.read_bundle(stores[dst], data))


def _sums(store) -> tuple[int, int]:
    deposits = store.db.execute_sql("select coalesce(sum(minutes), 0) from vol_timebank where deleted = 0 and "
                                    "source is null").fetchone()[0]
    withdrawals = store.db.execute_sql("select coalesce(sum(minutes), 0) from vol_timebank where deleted = 0 and "
                                       "target is null").fetchone()[0]
    return deposits, withdrawals


class Laptops:
    def __init__(self, folder):
        self.stores = make_replicas(folder, ["甲", "乙"])
        self.ids = [identity.identity(s).device_id for s in self.stores]
        a = self.stores[0]
        with a.activated():
            hh = oplog.write(a, Household, [{"address": "幸福里1栋101"}])[0].row_id
            self.persons = []
            for name, rel, birth in (("张三", "户主", "1958-01-01"), ("李梅", "配偶", "1960-01-01")):
                pid = oplog.write(a, Person, [{"name": name, "birth_date": birth}])[0].row_id
                oplog.write(a, Membership, [{"household": hh, "person": pid, "relation": rel}])
                self.persons.append(pid)
            self.volunteers = [roster.save_volunteer(a, person_id=self.persons[0])[0].row_id,
                               roster.save_volunteer(a, name="王五")[0].row_id]
            self.team = roster.save_team(a, name="邻里守望队")[0].row_id
        _sync(self.stores, self.ids, 0, 1)
        self.slot = 0
        self.model: dict[str, int] = {}  # account -> minutes, from the writes that were accepted
        self.deposited: set[str] = set()  # service ids deposited (once, wherever approved)

    def _service(self, r: int, who: int, hours: int) -> tuple[str, int]:
        store = self.stores[r]
        self.slot += 1
        day = dt.datetime(2026, 1, 1) + dt.timedelta(days=self.slot)
        act = service.save_activity(store, team_id=None, title="服务", start=day,
                                    end=day + dt.timedelta(hours=hours))[0].row_id
        sid = service.record_service(store, activity_id=act, volunteer_id=self.volunteers[who], sign_in=day,
                                     sign_out=day + dt.timedelta(hours=hours))[0].row_id
        return sid, hours * 60

    def _credit(self, sid: str, who: int, minutes: int) -> None:
        if sid not in self.deposited:
            self.deposited.add(sid)
            account = self.volunteers[who]
            self.model[account] = self.model.get(account, 0) + minutes

    def act(self, kind: str, r: int, who: int, amount: int) -> None:
        store = self.stores[r]
        with store.activated():
            if kind == "sync":
                return _sync(self.stores, self.ids, r, 1 - r)
            if kind == "group":
                return self._group(store, who, amount)
            account = self.volunteers[who]
            if kind in ("serve", "approve_both"):
                sid, minutes = self._service(r, who, amount)
                if kind == "approve_both":  # the record reaches the other laptop; both approve it offline
                    _sync(self.stores, self.ids, r, 1 - r)
                    with self.stores[1 - r].activated():
                        service.approve_services(self.stores[1 - r], service_ids=[sid])
                service.approve_services(store, service_ids=[sid])
                self._credit(sid, who, minutes)
                return
            before = store.db.execute_sql("select count(*) from vol_timebank").fetchone()[0]
            have = timebank.balance(store, account)
            try:
                if kind == "withdraw":
                    timebank.withdraw(store, account=account, minutes=amount)
                    self.model[account] = self.model.get(account, 0) - amount
                elif kind == "donate":
                    timebank.donate(store, account=account, minutes=amount)
                    self.model[account] = self.model.get(account, 0) - amount
                    self.model[POOL] = self.model.get(POOL, 0) + amount
                else:
                    if who != 0:  # 王五 has no household here: refused
                        with pytest.raises(ValidationErrors):
                            timebank.transfer(store, source=account, person_id=self.persons[1], minutes=amount, on=ON)
                        return
                    timebank.transfer(store, source=account, person_id=self.persons[1], minutes=amount, on=ON)
                    spouse = self.persons[1]
                    self.model[account] = self.model.get(account, 0) - amount
                    self.model[spouse] = self.model.get(spouse, 0) + amount
            except ValidationErrors as exc:
                assert amount > have or have < 0, exc.message  # refused only when not covered
                assert exc.errors[0].field == "minutes"
                assert store.db.execute_sql("select count(*) from vol_timebank").fetchone()[0] == before
                return
            assert have >= amount  # accepted only when covered here
            assert timebank.balance(store, account) >= 0

    def _group(self, store, op: int, amount: int) -> None:
        team = self.team
        have = timebank.balance(store, team)
        if op == 0:  # the team served as a group: its hours go to the team's account
            self.slot += 1
            day = dt.datetime(2026, 1, 1) + dt.timedelta(days=self.slot)
            act = service.save_activity(store, team_id=team, title="团体服务", start=day,
                                        end=day + dt.timedelta(hours=3))[0].row_id
            timebank.deposit_group_service(store, team_id=team, activity_id=act, minutes=amount)
            self.model[team] = self.model.get(team, 0) + amount
            return
        if op == 3:
            try:
                timebank.donate(store, account=team, minutes=amount)
            except ValidationErrors as exc:
                assert amount > have or have < 0, exc.message
                return
            self.model[team] = self.model.get(team, 0) - amount
            self.model[POOL] = self.model.get(POOL, 0) + amount
            return
        before = store.db.execute_sql("select count(*) from vol_timebank").fetchone()[0]
        with pytest.raises(ValidationErrors) as err:  # whatever the balance: a group's hours are only donated
            if op == 1:
                timebank.withdraw(store, account=team, minutes=min(amount, max(have, 1)))
            else:
                timebank.transfer(store, source=team, person_id=self.persons[1], minutes=min(amount, max(have, 1)),
                                  on=ON)
        assert "只能捐赠" in err.value.message
        assert store.db.execute_sql("select count(*) from vol_timebank").fetchone()[0] == before

    def check_conserved(self) -> None:
        for store in self.stores:
            deposits, withdrawals = _sums(store)
            assert sum(timebank.balances(store).values()) == deposits - withdrawals


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(steps=actions)
def test_time_bank_on_two_laptops(tmp_path_factory, steps):
    world = Laptops(tmp_path_factory.mktemp("bank"))
    try:
        for step in steps:
            world.act(*step)
            world.check_conserved()
        _sync(world.stores, world.ids, 0, 1)
        _sync(world.stores, world.ids, 1, 0)
        a, b = (timebank.balances(s) for s in world.stores)
        assert a == b
        expected = {k: v for k, v in world.model.items() if v}
        assert {k: v for k, v in a.items() if v} == expected
        entries = [sorted(s.db.execute_sql("select id, kind, source, target, minutes from vol_timebank")) for s in
                   world.stores]
        assert entries[0] == entries[1]
        deposits = [e for e in entries[0] if e[1] == "deposit" and e[3] != world.team]
        assert len(deposits) == len(world.deposited)  # one deposit per approved record, wherever approved
        for store in world.stores:  # the same approval on both laptops is the same row: no conflict
            assert store.db.execute_sql("select count(*) from conflict where tbl = 'vol_timebank'").fetchone()[0] == 0
        for store in world.stores:  # the derived totals follow merged records too
            assert service.all_totals(store) == dict(store.db.execute_sql(
                "select volunteer_id, sum(minutes) from vol_service where status = 'approved' and deleted = 0 "
                "group by volunteer_id having sum(minutes) > 0"))
        for store in world.stores:
            negative = sorted((k, v) for k, v in timebank.balances(store).items() if v < 0)
            assert timebank.overdrafts(store) == negative
            for account, _minutes in negative:
                with pytest.raises(ValidationErrors) as err:
                    timebank.withdraw(store, account=account, minutes=1)
                assert "透支" in err.value.message
            world.check_conserved()
    finally:
        for s in world.stores:
            s.close()


def test_a_merged_overdraft_is_flagged_not_hidden(tmp_path):
    world = Laptops(tmp_path)
    world.act("approve_both", 0, 0, 2)  # 120 minutes, on both laptops
    world.act("withdraw", 0, 0, 100)
    world.act("withdraw", 1, 0, 100)  # each covered on its own laptop
    _sync(world.stores, world.ids, 0, 1)
    store = world.stores[1]
    with store.activated():
        assert timebank.balance(store, world.volunteers[0]) == -80
        assert timebank.overdrafts(store) == [(world.volunteers[0], -80)]
        book = timebank.passbook(store, world.volunteers[0])
        assert book[-1]["balance"] == -80
    for s in world.stores:
        s.close()

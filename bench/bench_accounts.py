"""Accounts and encryption at rest, side by side with the plain database of today:
unlock at start, search p95, the 1,000-change exchange, a full backup's size and time,
and the one-off migration of a plain database."""

from __future__ import annotations

import os
import secrets
import statistics
import time
from pathlib import Path

from bench.common import Timer, demo_db, fresh_copy

HOUSEHOLDS = int(os.environ.get("GRIDDESK_BENCH_HOUSEHOLDS", "50000"))
PASSWORD = "bench password 1"


def _encrypted_copy(source: Path, target: Path, results: dict) -> bytes:
    from db.accounts import cipher, keyfile

    fresh_copy(source, target)
    key = secrets.token_bytes(32)
    kf = keyfile.KeyFile.new(target)
    kf.set_password("admin", PASSWORD, key)
    kf.save()
    with Timer() as t:
        cipher.encrypt_in_place(target, key)
    results["accounts_migrate_plain_to_encrypted_s"] = round(t.seconds, 3)
    from db.store import Store

    store = Store(target, key=key)
    store.db.execute_sql("insert into account(login, role) values('admin', 'admin')")
    store.close()
    cipher.forget_key(target)
    return key


def _unlock(results: dict, plain: Path, encrypted: Path) -> None:
    from db.accounts import cipher, service
    from db.store import Store

    for label, path in (("plain", plain), ("encrypted", encrypted)):
        times = []
        for _ in range(3):
            cipher.forget_key(path)
            with Timer() as t:
                store = (service.open_store(path, login="admin", password=PASSWORD) if label == "encrypted"
                         else Store(path))
                store.db.execute_sql("select count(*) from register_search").fetchone()
            times.append(t.seconds)
            store.close()
        results[f"accounts_open_at_start_{label}_s"] = round(statistics.median(times), 3)
    kf_unlock = service.unlock(encrypted, login="admin", password=PASSWORD)
    results["accounts_password_key_derivation_s"] = round(kf_unlock.seconds, 3)


def _search(results: dict, plain: Path, encrypted: Path, key: bytes) -> None:
    from bench.bench_register import _queries
    from db.register.index import ensure_index
    from db.register.search import Filters, search_ids
    from db.store import Store

    stores = {"plain": Store(plain), "encrypted": Store(encrypted, key=key)}
    for s in stores.values():
        ensure_index(s)
    queries = _queries(stores["plain"])
    times: dict[str, list[float]] = {k: [] for k in stores}
    for _round in range(2):
        for q in queries:
            for label, s in stores.items():  # interleaved: the shared machine's noise hits both
                started = time.perf_counter()
                search_ids(s, Filters(text=q))
                times[label].append((time.perf_counter() - started) * 1000)
    for label, values in times.items():
        values = values[len(queries):]
        results[f"accounts_search_p95_{label}_ms"] = round(sorted(values)[int(len(values) * 0.95)], 3)
        results[f"accounts_search_p50_{label}_ms"] = round(statistics.median(values), 3)
    results["accounts_search_keystrokes"] = len(queries)
    for s in stores.values():
        s.close()


def _exchange(results: dict, workdir: Path, demo: Path, plain: Path, encrypted: Path, key: bytes) -> None:
    from db import oplog
    from db.models.register import Person
    from db.store import Store
    from db.sync import beliefs, exchange, identity

    source = Store(fresh_copy(demo, workdir / "acc-source.sqlite"), user="甲")
    offices = {"plain": Store(plain, user="乙"), "encrypted": Store(encrypted, user="乙", key=key)}
    ids = [r for (r,) in source.db.execute_sql("select id from person order by id limit 1000")]
    for office in offices.values():
        with source.activated():
            identity.trust_device(source, identity.identity(office).card())
        with office.activated():
            identity.trust_device(office, identity.identity(source).card())
            vector = oplog.version_vector(office.db)
        with source.activated():
            beliefs.replace_belief(source, identity.identity(office).device_id, vector)
    rounds = 4  # the first warms the caches of both; the median of the others is reported
    measured: dict[str, list[tuple[float, float]]] = {k: [] for k in offices}
    incremental: dict[str, int] = {}
    for round_ in range(rounds):
        with source.activated():
            oplog.write(source, Person, [{"id": pid, "notes": f"已走访{round_}"} for pid in ids])
        order = list(offices.items()) if round_ % 2 else list(offices.items())[::-1]  # alternate who goes first
        for label, office in order:
            office_id = identity.identity(office).device_id
            with source.activated():
                small = exchange.export_bundle(source, for_device=office_id)
            with office.activated(), Timer() as t:
                summary = exchange.import_bundle(office, exchange.read_bundle(office, small.data))
            assert summary.new_ops == 1000
            if round_:
                measured[label].append((t.seconds, summary.backup_seconds))
                incremental[label] = int("-incr-" in summary.backup_file)
    for label, values in measured.items():
        results[f"accounts_1000_changes_import_{label}_s"] = round(statistics.median(v[0] for v in values), 3)
        results[f"accounts_1000_changes_import_backup_{label}_s"] = round(statistics.median(v[1] for v in values), 3)
        results[f"accounts_1000_changes_import_without_backup_{label}_s"] = round(
            statistics.median(v[0] - v[1] for v in values), 3)
        results[f"accounts_1000_changes_backup_incremental_{label}"] = incremental[label]
    source.close()
    for office in offices.values():
        office.close()


def _backup(results: dict, plain: Path, encrypted: Path, key: bytes) -> None:
    from db.backup import make_backup
    from db.store import Store

    for label, store in (("plain", Store(plain)), ("encrypted", Store(encrypted, key=key))):
        with Timer() as t:
            backup = make_backup(store, "manual", incremental=False)
        results[f"accounts_full_backup_{label}_s"] = round(t.seconds, 3)
        results[f"accounts_full_backup_{label}_mb"] = round(backup.stat().st_size / 1e6, 1)
        results[f"accounts_database_{label}_mb"] = round(store.path.stat().st_size / 1e6, 1)
        store.close()


def run(results: dict, workdir: Path) -> None:
    demo = demo_db(workdir, HOUSEHOLDS)
    plain = fresh_copy(demo, workdir / "acc-plain.sqlite")
    encrypted = workdir / "acc-encrypted.sqlite"
    key = _encrypted_copy(demo, encrypted, results)
    results["accounts_households"] = HOUSEHOLDS
    _unlock(results, plain, encrypted)
    _search(results, plain, encrypted, key)
    _exchange(results, workdir, demo, plain, encrypted, key)
    _backup(results, plain, encrypted, key)

"""The handover's hot loop (chains.linked_digests) computes exactly the chain digests of the
definition (chains.digest over the logical values), and gives up on a broken or missing link."""

from __future__ import annotations

from dataclasses import replace

from db import oplog
from db.models.register import Grid
from db.sync import chains, exchange
from db.sync.identity import identity
from tests.sync_helpers import make_replicas


def _bundle_ops(tmp_path):
    a, b = make_replicas(tmp_path, ["a", "b"])
    try:
        for i in range(12):
            oplog.write(b, Grid, [{"name": f"{i + 1}网格", "code": f"G{i + 1}"}])
        bundle = exchange.read_bundle(a, exchange.export_bundle(b, for_device=identity(a).device_id).data)
        return [op for op in bundle.ops if op.node == b.node_id]
    finally:
        a.close()
        b.close()


def test_linked_digests_are_the_defined_chain_digests(tmp_path):
    ops = _bundle_ops(tmp_path)
    assert len(ops) >= 12 and ops[0].counter == 1 and ops[0].prev == chains.ZERO
    expected, prev = [], chains.ZERO
    for op in ops:
        assert op.prev == prev
        prev = chains.digest(op.node, op.counter, op.tbl, op.row_id, op.fields, op.supersedes, op.hlc, op.user,
                             op.schema, op.kind, prev)
        expected.append(prev)
    assert chains.linked_digests(ops) == expected
    assert [chains.op_digest(op, op.prev) for op in ops] == expected
    assert chains.linked_digests(ops[5:]) == expected[5:]  # a run that starts after counter 1
    assert chains.linked_digests([]) == []


def test_linked_digests_give_up_on_a_broken_or_missing_link(tmp_path):
    ops = _bundle_ops(tmp_path)
    altered = [*ops[:4], replace(ops[4], fields={**ops[4].fields, "name": "改过"}, prev=ops[4].prev), *ops[5:]]
    assert chains.linked_digests(altered) is None  # op 5's digest changed: op 6 no longer names it
    relinked = [*ops[:6], replace(ops[6], prev=bytes(32)), *ops[7:]]
    assert chains.linked_digests(relinked) is None
    unchained = [*ops[:3], replace(ops[3], prev=None), *ops[4:]]
    assert chains.linked_digests(unchained) is None
    assert chains.linked_digests([replace(ops[0], prev=None)]) is None
    # The last op altered: its own link is fine, only its digest differs (the heads catch that).
    last = replace(ops[-1], fields={**ops[-1].fields, "name": "改过"}, prev=ops[-1].prev)
    digests = chains.linked_digests([*ops[:-1], last])
    assert digests is not None and digests[:-1] == chains.linked_digests(ops)[:-1]
    assert digests[-1] != chains.linked_digests(ops)[-1]

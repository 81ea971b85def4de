"""Shared by the hub benches: the hub in its own process (as an office runs it), and simulated
laptops that speak the hub's protocol (signed requests, ops as a laptop writes them) without a
desktop database each, so hundreds of them fit on this machine."""

from __future__ import annotations

import secrets
import threading
import time

import orjson

from hub.server import CodeMaker, HubProcess, free_port  # noqa: F401 - the benches import them from here


class SimDevice:
    """A laptop reduced to its protocol: an Ed25519 key, a node id, a counter, a cursor."""

    def __init__(self, service, name: str, grid: str | None):
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        from db.sync.identity import CARD_FORMAT, b64, device_id_for

        self.key = Ed25519PrivateKey.generate()
        pub = self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        box = X25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.device_id = device_id_for(pub)
        self.node = secrets.token_hex(8)
        self.grid = grid
        self.counter = 0
        self.cursor = 0
        self.epoch = ""
        card = {"format": CARD_FORMAT, "version": 1, "device_id": self.device_id, "name": name,
                "sign_public": b64(pub), "box_public": b64(box)}
        code = service.create_code(grids=None if grid is None else frozenset({grid}), name=name)
        service.redeem(code, card=card, node=self.node)
        self.pulled = 0
        self.pull_times: list[float] = []

    def ops(self, households: int) -> list[list]:
        """New households of its grid with two persons each (5 ops a household), as a laptop writes them."""
        from db.ids import new_id

        out = []
        ms = int(time.time() * 1000)

        def op(tbl, row_id, fields):
            self.counter += 1
            hlc = f"{ms:016d}-{self.counter % 999_999:06d}-{self.node}"
            out.append([self.node, self.counter, tbl, row_id, orjson.dumps(fields).decode(), "{}", hlc, "sim", 12,
                        "edit"])
        for i in range(households):
            hh = new_id()
            op("household", hh, {"grid_id": self.grid, "number": f"{self.counter}-{i}", "address": f"幸福路{i}号"})
            for j in range(2):
                p = new_id()
                op("person", p, {"name": f"居民{i}-{j}", "phone": f"138{i:04d}{j:04d}"})
                op("membership", new_id(), {"household_id": hh, "person_id": p, "relation": "户主" if j == 0 else "配偶"})
        return out


class Client:
    """Signed calls to the hub for any simulated device (one TLS connection per client)."""

    def __init__(self, address: str, cert_pem: str):
        import httpx

        from db.sync import hub_protocol as proto

        self.proto = proto
        self.http = httpx.Client(base_url=address, verify=proto.pinned_context(cert_pem), timeout=300,
                                 headers={"content-type": "application/json"})

    def call(self, device: SimDevice, path: str, data: dict) -> dict:
        body = orjson.dumps(data)
        for _attempt in range(50):
            headers = self.proto.sign_headers(device.key, device.device_id, "POST", path, body)
            r = self.http.post(path, content=body, headers=headers)
            if r.status_code == 429:
                time.sleep(0.2)
                continue
            if r.status_code != 200:
                raise RuntimeError(f"{path}: {r.status_code} {r.text[:200]}")
            return orjson.loads(r.content)
        raise RuntimeError(f"{path}: rate limited")

    def sync(self, device: SimDevice, ops: list[list] | None = None, batch: int = 5000) -> None:
        """One sync round as the desktop does it: hello, push, pull to the checkpoint, hello with the cursor."""
        hello = self.call(device, "/api/hello", {"nodes": [device.node], "cursor": device.cursor})
        device.epoch = hello["epoch"]
        for start in range(0, len(ops or ()), batch):
            self.call(device, "/api/push", {"epoch": device.epoch, "ops": ops[start:start + batch]})
        while True:
            started = time.perf_counter()
            page = self.call(device, "/api/pull", {"epoch": device.epoch, "cursor": device.cursor, "limit": 5000,
                                                   "own": {device.node: device.counter}})
            device.pull_times.append(time.perf_counter() - started)
            device.pulled += sum(1 for i in page["items"] if i[0] == "op")
            device.cursor = int(page["cursor"])
            if not page["more"]:
                break
        self.call(device, "/api/hello", {"nodes": [], "cursor": device.cursor})

    def close(self) -> None:
        self.http.close()


def run_rounds(address: str, cert_pem: str, work: list, threads: int) -> list[float]:
    """Run (device, households to write) sync rounds on `threads` clients at once; returns each
    round's seconds (from the request of the round's hello to its last answer)."""
    times: list[float] = []
    lock = threading.Lock()
    queue = list(reversed(work))
    errors: list[BaseException] = []

    def worker():
        client = Client(address, cert_pem)
        try:
            while True:
                with lock:
                    if not queue or errors:
                        return
                    device, households = queue.pop()
                ops = device.ops(households) if households else None
                started = time.perf_counter()
                client.sync(device, ops)
                with lock:
                    times.append(time.perf_counter() - started)
        except BaseException as exc:  # noqa: BLE001 - raised in the caller
            errors.append(exc)
        finally:
            client.close()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    if errors:
        raise errors[0]
    return times


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc): a figure the machine's load
    does not change much, beside the wall time that it does."""
    import os

    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def p95(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[max(0, int(len(ordered) * 0.95) - 1)]

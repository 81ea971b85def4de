"""The hub's HTTP interface (Starlette): enrol, hello, push, pull, and a small status page.

Every /api request but enrolment is signed by an enrolled device (db.sync.hub_protocol); the
request's time must be within the window and not before this process started (a request
captured before a restart cannot be replayed after it), its nonce unseen, the device not revoked,
and within its rate limit. Bodies are JSON (orjson), at most MAX_BODY bytes.
"""

from __future__ import annotations

import html
import os
import signal
import threading
import time
from collections import OrderedDict

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from db.sync import hub_protocol as proto
from hub.service import Device, HubError, HubService
from hub.snapshot import Snapshots
from i18n import _

MAX_BODY = 16 * 1024 * 1024
RATE_PER_SECOND = 20.0
RATE_BURST = 200.0


class _Guard:
    """Nonces seen within the window, and a token bucket per device."""

    def __init__(self, rate: float, burst: float):
        self.started_ms = int(time.time() * 1000)
        self.nonces: OrderedDict[tuple[str, str], int] = OrderedDict()
        self.buckets: dict[str, tuple[float, float]] = {}
        self.rate, self.burst = rate, burst
        self.lock = threading.Lock()

    def fresh_nonce(self, device: str, nonce: str, t_ms: int) -> bool:
        now = int(time.time() * 1000)
        with self.lock:
            while self.nonces:
                key, at = next(iter(self.nonces.items()))
                if at >= now - 2 * proto.WINDOW_MS:
                    break
                self.nonces.popitem(last=False)
            if (device, nonce) in self.nonces:
                return False
            self.nonces[(device, nonce)] = now
            return True

    def allow(self, device: str) -> bool:
        now = time.monotonic()
        with self.lock:
            tokens, at = self.buckets.get(device, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            if tokens < 1:
                self.buckets[device] = (tokens, now)
                return False
            self.buckets[device] = (tokens - 1, now)
            return True


def _error(message: str, status: int, **extra) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status,
                        headers={proto.H_HUB_TIME: str(int(time.time() * 1000))})


def _ok(data: dict) -> Response:
    return Response(orjson.dumps(data), media_type="application/json",
                    headers={proto.H_HUB_TIME: str(int(time.time() * 1000))})


async def _body(request: Request) -> bytes:
    length = request.headers.get("content-length")
    if length and int(length) > MAX_BODY:
        raise HubError(_("The request is too large ({size} MB; at most {limit} MB). Nothing was stored.").format(
            size=int(length) // 1_000_000, limit=MAX_BODY // 1_000_000), 413)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise HubError(_("The request is too large (at most {limit} MB). Nothing was stored.").format(
                limit=MAX_BODY // 1_000_000), 413)
        chunks.append(chunk)
    return b"".join(chunks)


def _json(body: bytes) -> dict:
    try:
        data = orjson.loads(body) if body else {}
    except orjson.JSONDecodeError as exc:
        raise HubError(_("The request is not valid JSON. Nothing was stored."), 400) from exc
    if not isinstance(data, dict):
        raise HubError(_("The request is not valid JSON. Nothing was stored."), 400)
    return data


def create_app(service: HubService, *, rate: float = RATE_PER_SECOND, burst: float = RATE_BURST,
               crash_after_commit: bool | None = None, sign_key=None) -> Starlette:
    guard = _Guard(rate, burst)
    snapshots = Snapshots(service, sign_key)
    service.signer = snapshots.sign  # vouchers for enrolled devices' keys (db/sync/chains.py)
    if crash_after_commit is None:
        crash_after_commit = os.environ.get("GRIDDESK_HUB_CRASH_AFTER_COMMIT") == "1"

    async def authenticate(request: Request, body: bytes, *, device: Device | None = None) -> Device:
        h = request.headers
        device_id = h.get(proto.H_DEVICE)
        if not device_id or not h.get(proto.H_SIG) or not h.get(proto.H_NONCE) or not h.get(proto.H_TIME):
            raise HubError(_("The request is not signed by an enrolled device."), 401)
        if device is None:
            device = await run_in_threadpool(service.device, device_id)
        if device is None:
            raise HubError(_("This device is not enrolled at this hub. Enrol it with a code from the office."), 401)
        if device.revoked_at:
            raise HubError(_("This device was revoked by the office; it can no longer sync."), 403)
        try:
            t_ms = int(h[proto.H_TIME])
        except ValueError as exc:
            raise HubError(_("The request is not signed by an enrolled device."), 401) from exc
        now = int(time.time() * 1000)
        if abs(now - t_ms) > proto.WINDOW_MS or t_ms < guard.started_ms:
            raise HubError(_("The request's time is outside the hub's window (clock or replay); sign it again."),
                           401, retry="time")
        if not proto.verify_signature(device.sign_public, h, request.method, request.url.path, body):
            raise HubError(_("The request's signature is not valid for this device."), 401)
        if not guard.fresh_nonce(device_id, h[proto.H_NONCE], t_ms):
            raise HubError(_("This request was already received (replay); it is refused."), 401)
        if not guard.allow(device_id):
            raise HubError(_("Too many requests from this device; try again in a moment."), 429)
        return device

    def guarded(handler):
        async def endpoint(request: Request) -> Response:
            try:
                return await handler(request)
            except HubError as exc:
                return _error(str(exc), exc.status, **exc.extra)
        return endpoint

    async def enrol(request: Request) -> Response:
        body = await _body(request)
        data = _json(body)
        card = data.get("card") or {}
        # The device proves it holds the key it registers: the request is signed with it.
        pending = Device(str(card.get("device_id") or ""), "", str(card.get("sign_public") or ""), None, None,
                         frozenset(), None)
        await authenticate(request, body, device=pending)
        device = await run_in_threadpool(service.redeem, str(data.get("code") or ""), card=card,
                                         node=data.get("node"))
        meta = await run_in_threadpool(service.meta)
        snapshots.prepare(device.grids)  # its first sync finds its scope's snapshot ready
        return _ok({"hub_id": meta["hub_id"], "epoch": meta["epoch"], "grids": device.grids_text,
                    "name": meta.get("name") or ""})

    async def hello(request: Request) -> Response:
        body = await _body(request)
        device = await authenticate(request, body)
        data = _json(body)
        nodes = data.get("nodes") or []
        cursor = data.get("cursor")
        return _ok(await run_in_threadpool(service.hello, device, nodes=list(nodes) if isinstance(nodes, list) else [],
                                           cursor=int(cursor) if isinstance(cursor, int) else None))

    async def push(request: Request) -> Response:
        body = await _body(request)
        device = await authenticate(request, body)
        data = _json(body)
        result = await run_in_threadpool(service.push, device, data.get("ops"), data.get("heads"),
                                           data.get("links"), data.get("vouchers"))
        if crash_after_commit and result.stored:
            os.kill(os.getpid(), signal.SIGKILL)  # tests: the hub dies between commit and acknowledgement
        return _ok(result.as_dict())

    async def pull(request: Request) -> Response:
        body = await _body(request)
        device = await authenticate(request, body)
        data = _json(body)
        own = data.get("own") if isinstance(data.get("own"), dict) else {}
        page = await run_in_threadpool(service.pull, device, epoch=str(data.get("epoch") or ""),
                                       cursor=int(data.get("cursor") or 0), limit=int(data.get("limit") or 5000),
                                       own={str(k): int(v) for k, v in own.items() if isinstance(v, int)})
        return _ok(page)

    async def review(request: Request) -> Response:
        from hub import review as rv

        body = await _body(request)
        device = await authenticate(request, body)
        data = _json(body)
        return _ok(await run_in_threadpool(rv.queue, service, device, limit=min(int(data.get("limit") or rv.LIMIT),
                                                                                  rv.LIMIT)))

    async def decide(request: Request) -> Response:
        from hub import review as rv

        body = await _body(request)
        device = await authenticate(request, body)
        data = _json(body)
        return _ok(await run_in_threadpool(rv.decide, service, device, kind=str(data.get("kind") or ""),
                                           key=str(data.get("key") or ""), decision=str(data.get("decision") or "")))
    async def snapshot(request: Request) -> Response:
        body = await _body(request)
        device = await authenticate(request, body)
        answer = await run_in_threadpool(snapshots.answer, device, _json(body))
        return Response(answer, media_type="application/json",
                        headers={proto.H_HUB_TIME: str(int(time.time() * 1000))})

    async def status(request: Request) -> Response:
        return HTMLResponse(await run_in_threadpool(status_page, service))

    routes = [
        Route("/", guarded(status), methods=["GET"]),
        Route("/api/enrol", guarded(enrol), methods=["POST"]),
        Route("/api/hello", guarded(hello), methods=["POST"]),
        Route("/api/push", guarded(push), methods=["POST"]),
        Route("/api/pull", guarded(pull), methods=["POST"]),
        Route("/api/review", guarded(review), methods=["POST"]),
        Route("/api/review/decide", guarded(decide), methods=["POST"]),
        Route("/api/snapshot", guarded(snapshot), methods=["POST"]),
    ]
    app = Starlette(routes=routes)
    app.state.service = service
    app.state.snapshots = snapshots
    return app


def _when(ms: int | None) -> str:
    if not ms:
        return "—"
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ms / 1000))


def status_page(service: HubService) -> str:
    """The office's status page (Chinese by default): devices, last seen, pending, conflicts per grid,
    holes and forks seen in devices' histories."""
    from hub.cli import describe_chain_note, history_text

    stats = service.stats()
    devices = service.devices()
    e = html.escape
    grids = {g["grid"]: g["name"] for g in stats["grids"]}

    def grid_names(text: str) -> str:
        if text == "*":
            return _("all grids")
        return "、".join(str(grids.get(g) or g[:8]) for g in text.split(",") if g)

    revoked, active, no_grid = _("revoked"), _("active"), _("(no grid)")
    from db.accounts.session import ROLE_LABELS

    def role(d) -> str:
        return _(ROLE_LABELS[d["role"]]) if d.get("role") in ROLE_LABELS else (d.get("role") or "")

    rows = "".join(
        f"<tr><td>{e(d['name'] or d['device_id'])}</td><td>{e(role(d))}</td><td>{e(grid_names(d['grids']))}</td>"
        f"<td>{e(_when(d['last_seen']))}</td><td class=n>{d['pending']:,}</td><td class=n>{d['pushed']:,}</td>"
        f"<td>{e(revoked if d['revoked_at'] else active)}</td>"
        f"<td>{e(history_text(d) if d.get('holes') or d.get('forks') else '—')}</td></tr>" for d in devices)
    note_rows = "".join(f"<li>{e(describe_chain_note(n))}</li>" for n in stats["chain_notes"])
    grid_rows = "".join(
        f"<tr><td>{e(str(g['name'] or no_grid))}</td><td class=n>{g['households']:,}</td>"
        f"<td class=n>{g['persons']:,}</td><td class=n>{g['conflicts']:,}</td></tr>" for g in stats["grids"])
    t = {key: e(text) for key, text in {
        "storage": _("Storage"), "stored": _("Changes stored"), "review": _("Waiting for review"),
        "faults": _("Faults"), "devices": _("Devices"), "device": _("Device"), "grids": _("Grids"), "role": _("Role"),
        "seen": _("Last seen"), "pending": _("Pending for the device"), "sent": _("Changes sent"), "state": _("State"),
        "grid": _("Grid"), "households": _("Households"), "persons": _("Persons"), "conflicts": _("Conflicts"),
        "history": _("Device history"), "histories": _("Holes and forks in devices' histories"),
    }.items()}
    title = _("GridDesk office hub")
    colon = e(_(": "))
    return f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{e(title)}</title>
<style>body{{font-family:"Noto Sans CJK SC","WenQuanYi Micro Hei",sans-serif;margin:2em;color:#222}}
table{{border-collapse:collapse;margin-bottom:2em}}td,th{{border:1px solid #ccc;padding:.3em .8em;text-align:left}}
th{{background:#f0f3f7}}.n{{text-align:right}}</style></head><body>
<h1>{e(title)}</h1>
<p>{t['storage']}{colon}{e(stats['backend'])} · {t['stored']}{colon}{stats['ops']:,} ·
{t['review']}{colon}{stats['review']:,} · {t['faults']}{colon}{stats['faults']:,}</p>
<h2>{t['devices']}</h2>
<table><tr><th>{t['device']}</th><th>{t['role']}</th><th>{t['grids']}</th><th>{t['seen']}</th>
<th>{t['pending']}</th><th>{t['sent']}</th><th>{t['state']}</th><th>{t['history']}</th></tr>{rows}</table>
{f"<h2>{t['histories']}</h2><ul>{note_rows}</ul>" if note_rows else ""}
<h2>{t['grids']}</h2>
<table><tr><th>{t['grid']}</th><th>{t['households']}</th><th>{t['persons']}</th>
<th>{t['conflicts']}</th></tr>{grid_rows}</table>
</body></html>"""

"""`griddesk-hub`: run and administer the office hub.

    griddesk-hub cert --host 192.168.1.10          make the office certificate, print its fingerprint
    griddesk-hub serve [--data URL] [--port 8443]   run the hub (SQLite file by default, or postgresql://)
    griddesk-hub enrol --grid 一网格 [--name ..] [--role grid|readonly|admin]   a one-time code for a laptop
    griddesk-hub devices | revoke DEVICE | scope DEVICE --grid .. | stats
    griddesk-hub backup FILE | restore FILE         a checked copy (an SQLite file) of either backend
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from i18n import _

TABLES = ("hub_meta", "hub_op", "hub_fault", "hub_node", "hub_row", "hub_feed", "hub_device", "hub_code",
          "hub_review", "hub_head", "hub_chain_note",
          "hub_voucher")


def data_folder() -> Path:
    import platformdirs

    return Path(os.environ.get("GRIDDESK_HUB_HOME") or platformdirs.user_data_dir("griddesk-hub", "GridDesk"))


def default_data() -> str:
    return os.environ.get("GRIDDESK_HUB_DATA") or str(data_folder() / "hub.sqlite")


_OPENED: list = []


def open_storage(url):
    """hub.storage.open_storage, closed again when the command ends."""
    from hub.storage import open_storage as _open

    storage = _open(url)
    _OPENED.append(storage)
    return storage


def _service(args):
    from hub.service import HubService

    return HubService(open_storage(args.data))


def _when(ms) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ms / 1000)) if ms else "—"


def cmd_cert(args) -> int:
    from hub.tls import make_certificate

    folder = Path(args.out or data_folder() / "tls")
    if (folder / "cert.pem").exists() and not args.force:
        from hub.tls import fingerprint_of

        print(_("A certificate exists already: {path} (use --force to make a new one; every laptop must then "
                "enrol again).").format(path=folder / "cert.pem"))
        print(_("SHA-256 fingerprint: {pin}").format(pin=_show(fingerprint_of(folder / "cert.pem"))))
        return 1
    cert, key, pin = make_certificate(folder, args.host or ["localhost"])
    print(_("Certificate: {cert}\nKey: {key}").format(cert=cert, key=key))
    print(_("SHA-256 fingerprint: {pin}").format(pin=_show(pin)))
    if args.host:
        from hub.service import HubService

        service = HubService(open_storage(args.data))
        with service.storage.write() as conn:
            service.storage.set_meta(conn, address=f"{args.host[0]}:{args.port}")
    return 0


def _show(pin: str) -> str:
    from db.sync.hub_protocol import show_pin

    return show_pin(pin)


def _tls_paths(args) -> tuple[Path, Path]:
    folder = Path(args.tls or data_folder() / "tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    if not cert.exists() or not key.exists():
        raise SystemExit(_("No certificate in {folder}: run `griddesk-hub cert --host ADDRESS` first.").format(
            folder=folder))
    return cert, key


def cmd_serve(args) -> int:
    import uvicorn

    from hub.server import config

    cert, key = _tls_paths(args)
    service = _service(args)
    print(_("GridDesk office hub on https://{host}:{port} ({backend}: {data})").format(
        host=args.host, port=args.port, backend=service.storage.kind, data=_safe_url(args.data)), flush=True)
    uvicorn.Server(config(service, host=args.host, port=args.port, cert=cert, key=key)).run()
    return 0


def _safe_url(url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(":" + parts.password + "@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def cmd_enrol(args) -> int:
    from db.sync.hub_protocol import make_code_text
    from hub.tls import fingerprint_of

    service = _service(args)
    cert, _key = _tls_paths(args)
    grids = None if args.all_grids else service.grid_ids(args.grid or [])
    if grids is not None and not grids:
        raise SystemExit(_("Name the device's grids with --grid (or --all-grids for the office's own computer)."))
    address = args.address or service.meta().get("address")
    if not address:
        raise SystemExit(_("Give the hub's address as the laptops reach it: --address 192.168.1.10:8443"))
    code = service.create_code(grids=grids, name=args.name or "", hours=args.hours, role=args.role)
    text = make_code_text(address, fingerprint_of(cert), code)
    print(_("Enrolment code (valid {hours} hours, once; five wrong tries lock it):").format(hours=args.hours))
    print(text)
    try:
        import segno

        qr = segno.make(text, error="m")
        if args.qr:
            qr.save(args.qr, scale=6)
            print(_("QR code: {path}").format(path=args.qr))
        if sys.stdout.isatty():
            qr.terminal(compact=True)
    except ImportError:  # pragma: no cover - segno is a dependency
        pass
    return 0


def cmd_devices(args) -> int:
    service = _service(args)
    devices = service.devices()
    if not devices:
        print(_("No device is enrolled yet."))
    for d in devices:
        state = _("revoked {when}").format(when=_when(d["revoked_at"])) if d["revoked_at"] else _("active")
        print(_("{device}  {name}  grids: {grids}  last seen: {seen}  pending: {pending}  sent: {sent}  {state}").format(
            device=d["device_id"], name=d["name"] or "—", grids=d["grids"], seen=_when(d["last_seen"]),
            pending=d["pending"], sent=d["pushed"], state=state) + "  " + _("role: {role}").format(role=d["role"])
            + ("  " + history_text(d) if d.get("holes") or d.get("forks") else ""))
    return 0


def history_text(d: dict) -> str:
    """A device's history as the hub saw it: holes (changes it still lacks) and forks."""
    return _("history: {holes} holes, {forks} forks").format(holes=d.get("holes", 0), forks=d.get("forks", 0))


def describe_chain_note(n: dict) -> str:
    """One hole or fork of a device's history (HubService.chain_notes), for the CLI and the status page."""
    ops = f"{n['node']}:{n['first']}–{n['last']}"
    device = n["device_name"] or n["device"] or "?"
    relay = n["relay_name"] or n["relay"] or "?"
    if n["kind"] == "fork":
        return _("{device}: a fork at changes {ops} (the device signed two different histories: a copied "
                 "database file?), pushed by {relay}").format(device=device, ops=ops, relay=relay)
    if n["missing"]:
        return _("{device}: a hole in its history at changes {ops}, {missing} changes still missing at the hub "
                 "(pushed past it by {relay})").format(device=device, ops=ops, missing=n["missing"], relay=relay)
    return _("{device}: a hole in its history at changes {ops}, filled since (pushed past it by {relay})").format(
        device=device, ops=ops, relay=relay)


def cmd_revoke(args) -> int:
    service = _service(args)
    device = service.find_device(args.device)
    service.revoke(device["device_id"])
    print(_("Revoked {name} ({device}); it is refused at its next request.").format(
        name=device["name"], device=device["device_id"]))
    return 0


def cmd_scope(args) -> int:
    service = _service(args)
    device = service.find_device(args.device)
    grids = None if args.all_grids else service.grid_ids(args.grid or [])
    service.set_scope(device["device_id"], grids)
    print(_("{name} now receives: {grids}").format(name=device["name"], grids="*" if grids is None else
                                                   ", ".join(sorted(grids))))
    return 0


def cmd_stats(args) -> int:
    stats = _service(args).stats()
    print(_("Backend: {backend}  epoch: {epoch}  changes: {ops}  devices: {devices}  review: {review}  "
            "faults: {faults}").format(**stats))
    for g in stats["grids"]:
        print(_("  {grid}: households {households}, persons {persons}, conflicts {conflicts}").format(
            grid=g["name"] or _("(no grid)"), households=g["households"], persons=g["persons"],
            conflicts=g["conflicts"]))
    if stats["chain_notes"]:
        print(_("Devices' histories: {holes} open holes, {forks} forks").format(holes=stats["holes"],
                                                                               forks=stats["forks"]))
        for n in stats["chain_notes"]:
            print("  " + describe_chain_note(n))
    return 0


def copy_tables(source, target) -> int:
    """Every hub table from one storage into another (both have the schema); returns rows copied."""
    total = 0
    with source.read() as src, target.write() as dst:
        for table in TABLES:
            target.execute(dst, f"delete from {table}")
            cur = source.execute(src, f"select * from {table}")
            columns = [d[0] for d in cur.description]
            while True:
                rows = [tuple(r) for r in cur.fetchmany(20_000)]
                if not rows:
                    break
                target.bulk_insert(dst, table, columns, rows)
                total += len(rows)
    return total


def cmd_backup(args) -> int:
    from hub.storage import SqliteStorage

    target = Path(args.file)
    if target.exists():
        raise SystemExit(_("{path} exists already; choose a new file name.").format(path=target))
    source = open_storage(args.data)
    tmp = target.with_name(target.name + ".part")
    tmp.unlink(missing_ok=True)
    copy = SqliteStorage(tmp)
    n = copy_tables(source, copy)
    with copy.write() as conn:
        # Put back, this copy holds less than the devices were told: it takes a new epoch when opened.
        copy.set_meta(conn, restored=1)
    with copy.read() as conn:
        check = copy.fetchone(conn, "pragma quick_check")[0]
    copy.close()
    if check != "ok":
        tmp.unlink()
        raise SystemExit(_("The backup failed its check ({result}); nothing was kept.").format(result=check))
    os.replace(tmp, target)
    print(_("Backup: {path} ({n} rows, checked)").format(path=target, n=n))
    return 0


def cmd_restore(args) -> int:
    from hub.storage import SqliteStorage

    if not Path(args.file).is_file():
        raise SystemExit(_("{path} does not exist.").format(path=args.file))
    backup = SqliteStorage(Path(args.file), init=False)  # read as it is (the backup is not changed)
    _OPENED.append(backup)
    target = open_storage(args.data)
    with target.read() as conn:
        existing = target.fetchone(conn, "select count(*) from hub_op")[0]
    if existing and not args.force:
        raise SystemExit(_("The hub at {data} holds data; add --force to replace it with the backup.").format(
            data=_safe_url(args.data)))
    n = copy_tables(backup, target)
    with target.write() as conn:
        target.set_meta(conn, restored=1)
    target.init_schema()  # takes the new epoch now
    print(_("Restored {n} rows into {data}; the hub has a new epoch and the laptops send again what it lacks.").format(
        n=n, data=_safe_url(args.data)))
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="griddesk-hub", description=_("GridDesk office hub"))
    p.add_argument("--data", default=None, help=_("SQLite file (default in the user data folder) or postgresql:// URL"))
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("cert", help=_("make the office's self-signed certificate"))
    s.add_argument("--host", action="append", help=_("address the laptops use (repeatable)"))
    s.add_argument("--port", type=int, default=8443)
    s.add_argument("--out")
    s.add_argument("--force", action="store_true")
    s.set_defaults(func=cmd_cert)
    s = sub.add_parser("serve", help=_("run the hub"))
    s.add_argument("--host", default="0.0.0.0")
    s.add_argument("--port", type=int, default=8443)
    s.add_argument("--tls")
    s.set_defaults(func=cmd_serve)
    s = sub.add_parser("enrol", help=_("a one-time enrolment code for a laptop"))
    s.add_argument("--grid", action="append")
    s.add_argument("--all-grids", action="store_true")
    s.add_argument("--name")
    s.add_argument("--hours", type=float, default=72)
    s.add_argument("--role", choices=("admin", "grid", "readonly"),
                   help=_("who uses the laptop: admin (社区管理员), grid (网格员, the default with --grid) or "
                          "readonly (只读: receives ID and phone numbers masked)"))
    s.add_argument("--address")
    s.add_argument("--qr")
    s.add_argument("--tls")
    s.set_defaults(func=cmd_enrol)
    s = sub.add_parser("devices", help=_("enrolled devices"))
    s.set_defaults(func=cmd_devices)
    s = sub.add_parser("revoke", help=_("revoke a device"))
    s.add_argument("device")
    s.set_defaults(func=cmd_revoke)
    s = sub.add_parser("scope", help=_("change a device's grids"))
    s.add_argument("device")
    s.add_argument("--grid", action="append")
    s.add_argument("--all-grids", action="store_true")
    s.set_defaults(func=cmd_scope)
    s = sub.add_parser("stats", help=_("what the hub holds"))
    s.set_defaults(func=cmd_stats)
    s = sub.add_parser("backup", help=_("a checked copy of the hub (an SQLite file)"))
    s.add_argument("file")
    s.set_defaults(func=cmd_backup)
    s = sub.add_parser("restore", help=_("put a backup back (into SQLite or PostgreSQL)"))
    s.add_argument("file")
    s.add_argument("--force", action="store_true")
    s.set_defaults(func=cmd_restore)
    return p


def main(argv: list[str] | None = None) -> int:
    import i18n

    lang = os.environ.get("GRIDDESK_LANG") or "zh_CN"
    i18n.set_language(lang if lang in i18n.LANGUAGES else "zh_CN")
    args = parser().parse_args(argv)
    args.data = args.data or default_data()
    from hub.service import HubError

    try:
        return args.func(args) or 0
    except HubError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except SystemExit as exc:
        if isinstance(exc.code, str):  # a refusal with its message
            print(exc.code, file=sys.stderr)
            return 2
        raise
    finally:
        while _OPENED:
            _OPENED.pop().close()


if __name__ == "__main__":
    sys.exit(main())

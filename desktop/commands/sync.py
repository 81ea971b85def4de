"""export-bundle, import-bundle, conflicts, and device identity/trust commands."""

from __future__ import annotations

import sys
from pathlib import Path

from i18n import _


def _add_db(p) -> None:
    p.add_argument("--db", required=True, help=_("database file"))


def register(sub) -> None:
    p = sub.add_parser("export-bundle", help=_("write a sync bundle (changes for a device, or everything)"))
    _add_db(p)
    p.add_argument("--to", required=True, help=_("bundle file or folder (e.g. the USB stick)"))
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--for", dest="for_device", help=_("receiving device (id, fingerprint or name)"))
    group.add_argument("--full", action="store_true", help=_("everything: a full handover"))
    p.add_argument("--passphrase-file", help=_("file holding the passphrase (first line)"))
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("import-bundle", help=_("verify and import a sync bundle or receipt"))
    _add_db(p)
    p.add_argument("file", help=_("bundle file"))
    p.add_argument("--passphrase-file", help=_("file holding the passphrase (first line)"))
    p.add_argument("--dry-run", action="store_true", help=_("only show what would change"))
    p.add_argument("--trust-sender", metavar="FINGERPRINT",
                   help=_("trust an unknown sender whose fingerprint you have compared"))
    p.add_argument("--receipt", metavar="PATH", help=_("write a receipt for the sender here after importing"))
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("conflicts", help=_("list the open conflicts with their values"))
    _add_db(p)
    p.add_argument("--show-full", action="store_true",
                   help=_("show ID and phone numbers in full (recorded in the audit log)"))
    p.set_defaults(func=cmd_conflicts)

    p = sub.add_parser("device", help=_("show this device's identity and the trusted devices"))
    _add_db(p)
    p.add_argument("--card", metavar="PATH", help=_("write this device's card (public keys) to a file"))
    p.add_argument("--name", help=_("give this device a name"))
    p.set_defaults(func=cmd_device)

    p = sub.add_parser("trust-device", help=_("trust a device from its card file"))
    _add_db(p)
    p.add_argument("card", help=_("device card file"))
    p.add_argument("--office", action="store_true", help=_("this is the community office"))
    p.set_defaults(func=cmd_trust)

    p = sub.add_parser("revoke-device", help=_("stop accepting bundles from a device"))
    _add_db(p)
    p.add_argument("device", help=_("device id, fingerprint or name"))
    p.set_defaults(func=cmd_revoke)


def _open(path: str, create: bool = False):
    from db.store import Store

    return Store(Path(path), create=create)


def _passphrase(path: str | None) -> str | None:
    if not path:
        return None
    from db.sync.identity import SyncError

    try:
        text = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise SyncError(_("Could not read the passphrase file “{path}”.").format(path=path)) from exc
    if not text or not text[0].strip():
        raise SyncError(_("The passphrase file “{path}” is empty.").format(path=path))
    return text[0].strip()


def cmd_export(args) -> int:
    from db.sync.exchange import export_to_file

    store = _open(args.db)
    try:
        exported = export_to_file(store, Path(args.to), for_device=args.for_device, full=args.full,
                                  passphrase=_passphrase(args.passphrase_file))
    finally:
        store.close()
    print(_("Bundle written and verified: {path} ({ops} changes, {size} KB).").format(
        path=exported.file_name, ops=exported.ops, size=max(1, exported.size // 1024)))
    print(_("It is safe to remove the stick."))
    return 0


def print_summary(summary) -> None:
    from db.sync.conflicts import table_label

    if summary.kind == "receipt":
        print(_("Receipt from “{name}”: its holdings are recorded.").format(name=summary.sender_name))
        if summary.peer_lost:
            print(_("  “{name}” now holds {n} change(s) fewer than before (a restored backup or a crash); the next "
                    "bundle for it carries them again.").format(name=summary.sender_name, n=summary.peer_lost))
        return
    print(_("From: {name} ({n} changes in the bundle, {new} new)").format(
        name=summary.sender_name, n=summary.ops, new=summary.new_ops))
    if summary.community:
        print(_("  community: {name}").format(name=summary.community))
    for table, n in sorted(summary.new_rows.items()):
        print(_("  new {table}: {n}").format(table=table_label(table), n=n))
    for table, n in sorted(summary.updated_rows.items()):
        print(_("  updated {table}: {n}").format(table=table_label(table), n=n))
    print(_("  new conflicts: {n}").format(n=summary.new_conflicts))
    for user, n in sorted(summary.by_user.items()):
        print(_("  changes by {user}: {n}").format(user=user, n=n))
    if summary.newer_schema_ops:
        print(_("  {n} changes come from a newer GridDesk version; they are kept and applied after an "
                "update.").format(n=summary.newer_schema_ops))
    if summary.skewed:
        print(_("  Note: the sender's clock seems to be far ahead; the data was accepted."))
    if summary.faults:
        from db.sync.faults import fault_warning

        print("  " + fault_warning(summary.faults), file=sys.stderr)
    if summary.already_imported:
        print(_("  This bundle was imported before; nothing changes."))
    if summary.backup_file and not summary.dry_run:
        if summary.backup_made:
            print(_("  Backup made before importing: {file}").format(file=summary.backup_file))
        else:
            print(_("  No new backup needed: nothing changed since the backup {file}").format(file=summary.backup_file))


def cmd_import(args) -> int:
    from db.sync.beliefs import GapError
    from db.sync.exchange import import_bundle, preview, read_bundle_file, write_receipt

    store = _open(args.db)
    try:
        # A dry run shows what a bundle of a sender not trusted yet would bring, so the person can
        # decide (and compare the fingerprint) before trusting it.
        bundle = read_bundle_file(store, Path(args.file), passphrase=_passphrase(args.passphrase_file),
                                  trust_sender=args.trust_sender, allow_unknown=bool(args.dry_run))
        if args.dry_run:
            print(_("Dry run: nothing is changed."))
            print_summary(preview(store, bundle))
            if bundle.needs_trust:
                from db.sync.identity import fingerprint

                fp = fingerprint(bundle.sender_id)
                print(_("The sender “{name}” is not trusted yet (fingerprint {fp}). Compare the fingerprint with the "
                        "sender, by phone or in person; then import with --trust-sender {fp}.").format(
                            name=bundle.header.get("sender_name") or "?", fp=fp))
            return 0
        try:
            summary = import_bundle(store, bundle)
        except GapError:
            # Nothing was applied. The receipt says what this database holds now: the sender's
            # next ordinary bundle then fills the gap.
            if args.receipt:
                receipt = write_receipt(store, bundle, Path(args.receipt))
                print(_("Receipt for the sender written: {path}. It asks for the missing changes.").format(
                    path=receipt.file_name))
            raise
        print_summary(summary)
        if summary.kind != "receipt":
            if not (summary.already_imported and not summary.new_ops):  # else: "imported before" said it
                print(_("Imported."))
            if args.receipt:
                receipt = write_receipt(store, bundle, Path(args.receipt))
                print(_("Receipt for the sender written: {path}").format(path=receipt.file_name))
    finally:
        store.close()
    return 0


def cmd_conflicts(args) -> int:
    from db.sync.conflicts import (
        SENSITIVE,
        display_value,
        field_label,
        list_conflicts,
        reveal_conflict,
        table_label,
    )

    store = _open(args.db)
    try:
        items = list_conflicts(store, limit=10_000)
        if args.show_full:
            for item in items:
                if item.field in SENSITIVE:
                    reveal_conflict(store, item)
    finally:
        store.close()
    if not items:
        print(_("No open conflicts."))
        return 0
    print(_("{n} open conflict(s):").format(n=len(items)))
    for item in items:
        print(f"{table_label(item.table)} {item.label} [{item.row_id}] {field_label(item.field)}:")
        for c in item.candidates:
            value = display_value(item.field, c.value, full=args.show_full)
            print("    " + _("{value}  by {user} on {device}, {when}").format(
                value=value, user=c.user or "?", device=c.device_name or c.node, when=c.when))
    return 0


def cmd_device(args) -> int:
    from db.sync.identity import identity, rename_device, trusted_devices, write_card

    store = _open(args.db, create=True)
    try:
        if args.name:
            rename_device(store, args.name)
        me = identity(store)
        print(_("This device: {name}").format(name=me.name))
        print(_("Fingerprint: {fp}").format(fp=me.fingerprint))
        if args.card:
            path = Path(args.card)
            if path.is_dir():
                path = path / f"{me.device_id[:8].upper()}.GDC"
            write_card(store, path)
            print(_("Device card written: {path}").format(path=path))
        for d in trusted_devices(store):
            state = _("revoked {when}").format(when=d["revoked_at"][:10]) if d["revoked_at"] else _("trusted")
            office = _(" (office)") if d["is_office"] else ""
            print(f"  {d['fingerprint']}  {d['name']}{office}  {state}")
    finally:
        store.close()
    return 0


def cmd_trust(args) -> int:
    from db.sync.identity import SyncError, fingerprint, read_card, trust_device, trusted_devices

    store = _open(args.db)
    try:
        try:
            data = Path(args.card).read_bytes()
        except OSError as exc:
            raise SyncError(_("Could not read “{path}”: {error}.").format(path=args.card, error=exc.strerror)) from exc
        device_id = read_card(data)["device_id"]
        revoked = next((d["revoked_at"] for d in trusted_devices(store) if d["device_id"] == device_id
                        and d.get("revoked_at")), None)
        device = trust_device(store, data, is_office=args.office)
    finally:
        store.close()
    print(_("Trusted: {name} ({fp})").format(name=device.name, fp=fingerprint(device.device_id)))
    if revoked:
        print(_("This device's trust had been revoked on {at}; it is trusted again now.").format(
            at=revoked.replace("T", " ")[:16]))
    return 0


def cmd_revoke(args) -> int:
    from db.sync.identity import find_device, revoke_device

    store = _open(args.db)
    try:
        device = find_device(store, args.device)
        revoke_device(store, device["device_id"])
    finally:
        store.close()
    print(_("Revoked: {name} ({fp})").format(name=device["name"], fp=device["fingerprint"]))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(0)

"""Bundle files on a stick or in a folder: readable 8.3 names by date, and what each file is.

Names stay FAT32-safe (8.3, upper-case ASCII) but say the day: GD1125A.GDB is the first bundle
written on 25 November, GD1125B.GDB the second; receipts are RC1125A.GDR. Listing a folder reads
only each file's clear-text header (sender, date, kind), never decrypting anything.
"""

from __future__ import annotations

import datetime as dt
import itertools
import string
import struct
from dataclasses import dataclass
from pathlib import Path

from db.sync.bundle import MAGIC
from db.sync.identity import SyncError, fingerprint
from i18n import _

BUNDLE_EXTS = (".GDB", ".GDR")
_U32 = struct.Struct(">I")
_MAX_HEADER = 1 << 20


def _suffixes():
    letters = string.ascii_uppercase
    yield from letters
    for a, b in itertools.product(letters, repeat=2):
        yield a + b


def dated_name(folder: Path | None, prefix: str, ext: str, when: dt.date | None = None) -> str:
    """A free 8.3 name in folder: PREFIX + MMDD + sequence letter(s), e.g. GD1125A.GDB."""
    when = when or dt.date.today()
    taken = set()
    if folder is not None and Path(folder).is_dir():
        taken = {p.name.upper() for p in Path(folder).iterdir()}  # FAT ignores case
    stem = f"{prefix[:2].upper()}{when:%m%d}"
    for suffix in _suffixes():
        name = f"{stem}{suffix}.{ext.upper()[:3]}"
        if name not in taken:
            return name
    raise SyncError(_("There are too many bundles of this day in “{folder}”. Move some away first.").format(
        folder=folder))


@dataclass
class BundleFile:
    """What a bundle or receipt file is, from its clear-text header (nothing decrypted)."""

    path: Path
    size: int
    kind: str = ""  # changes | full | receipt ("" when unreadable)
    sender_name: str = ""
    sender_id: str = ""
    created_at: str = ""
    for_devices: tuple[str, ...] = ()
    has_passphrase: bool = False
    problem: str = ""

    @property
    def sender_fingerprint(self) -> str:
        return fingerprint(self.sender_id) if self.sender_id else ""

    def describe(self, my_device_id: str | None = None) -> str:
        """One line for a person: kind, sender, date, size, for whom."""
        size = _("{n} KB").format(n=max(1, self.size // 1024)) if self.size < 10 * 1024 * 1024 else \
            _("{n} MB").format(n=self.size // (1024 * 1024))
        if self.problem:
            return _("{file}: {problem} ({size})").format(file=self.path.name, problem=self.problem, size=size)
        kinds = {"changes": _("changes"), "full": _("full handover"), "receipt": _("receipt")}
        if my_device_id and my_device_id in self.for_devices:
            target = _("for this device")
        elif self.has_passphrase:
            target = _("with a passphrase")
        else:
            target = _("for another device")
        return _("{kind} from {sender} ({fp}), {when}, {size}, {target} – {file}").format(
            kind=kinds.get(self.kind, self.kind), sender=self.sender_name or "?", fp=self.sender_fingerprint[:9],
            when=self.created_at[:16].replace("T", " "), size=size, target=target, file=self.path.name)


def describe_file(path: Path) -> BundleFile:
    """Read a bundle file's header only; an unreadable file gets a `problem`, never an exception."""
    import json

    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(len(MAGIC) + 4)
            if len(head) < len(MAGIC) + 4 or not head.startswith(MAGIC[:-1]):
                return BundleFile(path, size, problem=_("not a GridDesk bundle"))
            (length,) = _U32.unpack_from(head, len(MAGIC))
            if length > _MAX_HEADER:
                return BundleFile(path, size, problem=_("damaged"))
            header = json.loads(fh.read(length))
    except OSError as exc:
        return BundleFile(path, 0, problem=exc.strerror or str(exc))
    except ValueError:
        return BundleFile(path, size, problem=_("damaged"))
    if not isinstance(header, dict):
        return BundleFile(path, size, problem=_("damaged"))
    keys = header.get("keys") or []
    return BundleFile(path, size, kind=str(header.get("kind") or ""), sender_name=str(header.get("sender_name") or ""),
                      sender_id=str(header.get("sender") or ""), created_at=str(header.get("created_at") or ""),
                      for_devices=tuple(str(k.get("to")) for k in keys if isinstance(k, dict) and k.get("to")),
                      has_passphrase=any(isinstance(k, dict) and k.get("kind") == "scrypt" for k in keys))


def list_bundle_files(folder: Path) -> list[BundleFile]:
    """The bundles and receipts directly in folder (e.g. a stick's root), newest first."""
    folder = Path(folder)
    try:
        paths = [p for p in folder.iterdir() if p.is_file() and p.suffix.upper() in BUNDLE_EXTS]
    except OSError:
        return []
    found = [describe_file(p) for p in paths]
    return sorted(found, key=lambda f: (f.created_at, f.path.name), reverse=True)

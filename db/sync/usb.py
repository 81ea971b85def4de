"""Writing to USB sticks safely (FAT32: short ASCII names, no atomic rename, sudden removal).

A file is written under a temporary 8.3 name, flushed and fsynced, renamed, fsynced again,
read back from the stick (its cached pages dropped first, so the read is not served from memory)
and compared; only then may the person be told the stick can be removed.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from db.sync.errors import SyncError
from i18n import _

REMOVABLE_FS = {"vfat", "exfat", "msdos", "fat", "fat32", "fat16", "fuseblk", "ntfs", "ntfs3"}
MEDIA_ROOTS = ("/media/", "/run/media/", "/mnt/")
FAT32_LIMIT = 4 * 1024 ** 3 - 1


@dataclass
class Drive:
    mountpoint: str
    device: str
    fstype: str
    free_bytes: int
    total_bytes: int

    @property
    def label(self) -> str:
        return Path(self.mountpoint).name or self.mountpoint


def short_name(stem: str, ext: str) -> str:
    """An 8.3-friendly upper-case ASCII name: at most 8 characters, a dot and 3."""
    clean = "".join(c for c in stem.upper() if c.isascii() and c.isalnum())[:8] or "GRIDDESK"
    ext = "".join(c for c in ext.upper() if c.isascii() and c.isalnum())[:3]
    return f"{clean}.{ext}" if ext else clean


def list_removable_drives() -> list[Drive]:
    """Mounted removable drives: FAT/exFAT file systems or anything mounted under /media."""
    import psutil

    drives: list[Drive] = []
    seen: set[str] = set()
    for part in psutil.disk_partitions(all=False):
        mount = part.mountpoint
        fstype = (part.fstype or "").lower()
        opts = part.opts or ""
        removable = (fstype in REMOVABLE_FS or "removable" in opts
                     or any(mount.startswith(root) for root in MEDIA_ROOTS))
        if not removable or mount in seen or mount in ("/", "/boot", "/boot/efi"):
            continue
        try:
            usage = psutil.disk_usage(mount)
        except OSError:
            continue
        seen.add(mount)
        drives.append(Drive(mount, part.device, fstype, usage.free, usage.total))
    return drives


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems (and Windows) do not fsync directories
    finally:
        os.close(fd)


def drop_cached(fd: int) -> bool:
    """Ask the kernel to forget the cached pages of an fsynced file, so that the next read comes
    from the device itself (the stick), not from memory. False where that is not possible."""
    advise = getattr(os, "posix_fadvise", None)
    if advise is None:
        return False
    try:
        advise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    except OSError:
        return False
    return True


def read_from_device(path: Path) -> bytes:
    """Read a file back from the stick after it was written and synced: its pages are dropped
    from the page cache first, so a stick that lost or garbled the data is noticed."""
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())  # (already synced by the writer; cheap, and needed for DONTNEED)
        drop_cached(fh.fileno())
        return fh.read()


def _hash_from_device(path: Path) -> tuple[bytes, int]:
    """read_from_device, piece by piece: the sha256 and size of what the stick gives back."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())
        drop_cached(fh.fileno())
        while piece := fh.read(READ_PIECE):
            digest.update(piece)
            size += len(piece)
    return digest.digest(), size


READ_PIECE = 1 << 20


class _HashingFile:
    """A file being written that also hashes and counts what goes through it."""

    def __init__(self, fh):
        self._fh = fh
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data) -> int:
        self.digest.update(data)
        self.size += len(data)
        if self.size > FAT32_LIMIT:
            raise SyncError(_("The file is larger than 4 GB, which a FAT32 stick cannot hold."))
        return self._fh.write(data)


def safe_write(path: Path, data: bytes) -> Path:
    """Write data to path (temp name, flush, fsync, rename, read back); raise SyncError if it fails."""
    path = Path(path)
    folder = path.parent
    if len(data) > FAT32_LIMIT:
        raise SyncError(_("The file is larger than 4 GB, which a FAT32 stick cannot hold."))
    tmp = folder / short_name("GD" + secrets.token_hex(3), "TMP")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if path.exists():
            path.unlink()  # FAT has no atomic replace
        os.rename(tmp, path)
        _fsync_dir(folder)
        back = read_from_device(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise SyncError(_("Could not write “{path}”: {error}. Check that the stick is inserted and not "
                          "full or write-protected.").format(path=path, error=exc.strerror or exc)) from exc
    if hashlib.sha256(back).digest() != hashlib.sha256(data).digest():
        raise _reads_back_differently(path)
    return path


def _reads_back_differently(path: Path) -> SyncError:
    return SyncError(_("“{path}” reads back differently from what was written: the stick may be "
                       "failing. Use another stick.").format(path=path))


def safe_write_with(path: Path, write: Callable[[BinaryIO], object]) -> int:
    """safe_write for content written piece by piece: write(fh) writes it (a large bundle is never
    whole in memory). Temp name, flush, fsync, rename, read back and compared by hash; nothing is
    left behind when write() or anything else fails. Returns the size written."""
    path = Path(path)
    folder = path.parent
    tmp = folder / short_name("GD" + secrets.token_hex(3), "TMP")
    try:
        with open(tmp, "wb") as raw:
            fh = _HashingFile(raw)
            write(fh)
            raw.flush()
            os.fsync(raw.fileno())
        if path.exists():
            path.unlink()  # FAT has no atomic replace
        os.rename(tmp, path)
        _fsync_dir(folder)
        back, size = _hash_from_device(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise SyncError(_("Could not write “{path}”: {error}. Check that the stick is inserted and not "
                          "full or write-protected.").format(path=path, error=exc.strerror or exc)) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if back != fh.digest.digest() or size != fh.size:
        raise _reads_back_differently(path)
    return size

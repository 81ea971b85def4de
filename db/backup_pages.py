"""Full backups at page level: the database file's pages as one read transaction sees them.

A full backup (format PAGES of db/backup_container.py) is the stream of the database's pages 1…N
as they are in the file while a read transaction holds the snapshot. In WAL mode the file equals
the snapshot once every frame of the WAL the snapshot sees has been checkpointed into it, and it
keeps equalling it while the transaction is open (a checkpoint never copies frames newer than an
open reader's into the file): snapshot() checkpoints, begins the read transaction, and checks
that the WAL was checkpointed whole; when writers keep the WAL busy it gives up and the backup is
written as rows instead (db/backup_container.dump). In rollback-journal mode the shared lock of
the read transaction keeps writers out of the file.

The pages of an SQLCipher database are decrypted here (SQLCipher 4's page format, raw key:
AES-256-CBC with a random IV per page, HMAC-SHA512 over ciphertext, IV and page number) and
encrypted again on restore with the target database's key, so they compress like plain pages and
nothing plain reaches the disk. Free space is scrubbed: free-list leaf pages and the unused bytes
of b-tree pages are zeroed in the stream (deleted data does not travel into a backup, and the
pages compress better); SQLite never reads those bytes.

A backup of a plain database restored into an encrypted one (accounts were made since) cannot be
converted page by page (SQLCipher pages keep 80 bytes per page for their IV and HMAC): its pages
are spooled into a file encrypted with a throwaway key and read back row by row (read_rows, a
reader of SQLite's b-tree format) into the encrypted target.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import struct
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

SQLITE_MAGIC = b"SQLite format 3\x00"
PAGES_PER_READ = 256
LOCK_BYTE = 0x40000000  # SQLite's lock-byte page (never read nor written by SQLite)
SNAPSHOT_TRIES = 10

# -- SQLCipher 4's page format (raw 32-byte key) ---------------------------------------------------

CIPHER_PAGE_SIZE = 4096
CIPHER_RESERVE = 80  # IV (16) + HMAC-SHA512 (64)
_IV = 16


class PageError(ValueError):
    """A page that does not authenticate or does not parse."""


class CipherPages:
    """Decrypt and encrypt pages of an SQLCipher 4 file keyed with a raw 32-byte key."""

    def __init__(self, key: bytes, salt: bytes, page_size: int = CIPHER_PAGE_SIZE):
        self.key, self.salt, self.page_size = key, salt, page_size
        self.hmac_key = hashlib.pbkdf2_hmac("sha512", key, bytes(b ^ 0x3A for b in salt), 2, 32)
        self.end = page_size - CIPHER_RESERVE
        self.aes = algorithms.AES(key)

    @classmethod
    def of_file(cls, fd: int, key: bytes) -> CipherPages:
        return cls(key, os.pread(fd, 16, 0))

    def decrypt(self, pgno: int, page: bytes) -> bytes:
        start = 16 if pgno == 1 else 0
        end = self.end
        iv = page[end:end + _IV]
        mac = hmac.digest(self.hmac_key, page[start:end + _IV] + struct.pack("<I", pgno), "sha512")
        if not hmac.compare_digest(mac, page[end + _IV:end + _IV + 64]):
            raise PageError(f"page {pgno} does not authenticate")
        d = Cipher(self.aes, modes.CBC(iv)).decryptor()
        plain = d.update(page[start:end]) + d.finalize()
        return (SQLITE_MAGIC if pgno == 1 else b"") + plain + bytes(CIPHER_RESERVE)

    def encrypt(self, pgno: int, page: bytes) -> bytes:
        start = 16 if pgno == 1 else 0
        end = self.end
        iv = secrets.token_bytes(_IV)
        e = Cipher(self.aes, modes.CBC(iv)).encryptor()
        sealed = e.update(page[start:end]) + e.finalize() + iv
        mac = hmac.digest(self.hmac_key, sealed + struct.pack("<I", pgno), "sha512")
        return (self.salt if pgno == 1 else b"") + sealed + mac


# -- the file under a read transaction ------------------------------------------------------------

_fds: dict[tuple[int, int], int] = {}
_fds_lock = threading.Lock()


def _open_fd(path: Path) -> tuple[int, bool]:
    """A descriptor to read the database file, and whether to close it after. On POSIX it is kept
    open for the process: closing any descriptor of a file drops every fcntl lock this process
    holds on it, SQLite's included (SQLite keeps its own descriptors open for the same reason)."""
    if sys.platform == "win32":  # Windows locks belong to a handle, not to the process
        return os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0)), True
    st = os.stat(path)
    with _fds_lock:
        for ident, kept in list(_fds.items()):  # files deleted since (replaced by a restore)
            if os.fstat(kept).st_nlink == 0:
                os.close(kept)
                del _fds[ident]
        kept = _fds.get((st.st_dev, st.st_ino))
        if kept is None:
            kept = _fds[(st.st_dev, st.st_ino)] = os.open(path, os.O_RDONLY)
        return kept, False


class Snapshot:
    """The database file of an open read transaction, read page by page."""

    def __init__(self, fd: int, close: bool, page_size: int, page_count: int, cipher: CipherPages | None,
                 freelist: dict[int, int], auto_vacuum: int):
        self.fd, self.close_fd = fd, close
        self.page_size, self.page_count, self.cipher = page_size, page_count, cipher
        self.freelist, self.auto_vacuum = freelist, auto_vacuum

    def info(self) -> dict:
        return {"layout": "pages", "page_size": self.page_size, "page_count": self.page_count,
                "reserve": CIPHER_RESERVE if self.cipher else self._reserve, "cipher": self.cipher is not None}

    _reserve = 0

    def close(self) -> None:
        if self.close_fd:
            os.close(self.fd)

    def _read(self, pgno: int, n: int) -> bytes:
        size = self.page_size
        lock = LOCK_BYTE // size + 1
        if pgno <= lock < pgno + n:  # not read (Windows locks those bytes); its content is unused
            return self._read(pgno, lock - pgno) + bytes(size) + self._read(lock + 1, pgno + n - lock - 1)
        if n <= 0:
            return b""
        data = os.pread(self.fd, n * size, (pgno - 1) * size)
        if len(data) != n * size:
            raise PageError("the database file is shorter than its page count")
        return data

    def chunks(self) -> Iterator[bytes]:
        """The pages 1…N in chunks of PAGES_PER_READ pages, decrypted and scrubbed."""
        size, usable = self.page_size, self.page_size - (CIPHER_RESERVE if self.cipher else self._reserve)
        scrub = self.auto_vacuum == 0  # pointer-map pages would look like b-tree pages
        for start in range(1, self.page_count + 1, PAGES_PER_READ):
            n = min(PAGES_PER_READ, self.page_count - start + 1)
            data = self._read(start, n)
            if self.cipher is None and not scrub:
                yield data
                continue
            lock = LOCK_BYTE // size + 1  # left as zeros (_read), never encrypted by SQLCipher
            out = bytearray(data) if self.cipher is None else bytearray(b"".join(
                data[i * size:(i + 1) * size] if start + i == lock else
                self.cipher.decrypt(start + i, data[i * size:(i + 1) * size]) for i in range(n)))
            if scrub:
                for i in range(n):
                    _scrub(out, i * size, start + i, usable, self.freelist.get(start + i))
            yield bytes(out)


_ZEROS = memoryview(bytes(65536))


def _scrub(buf: bytearray, at: int, pgno: int, usable: int, free: int | None) -> None:
    """Zero what SQLite does not read in the page at buf[at:]: a free-list page but its first
    `free` bytes, or the unallocated gap and the freeblocks of a b-tree page (their 4-byte links
    are kept)."""
    if free is not None:
        buf[at + free:at + usable] = _ZEROS[:usable - free]
        return
    h = at + (100 if pgno == 1 else 0)
    kind = buf[h]
    if kind not in (2, 5, 10, 13):
        return  # an overflow or free-list trunk page, or the lock-byte page
    cells = (buf[h + 3] << 8) | buf[h + 4]
    content = ((buf[h + 5] << 8) | buf[h + 6]) or 65536
    gap = h + (12 if kind in (2, 5) else 8) + 2 * cells
    first_free = (buf[h + 1] << 8) | buf[h + 2]
    if not (gap - at <= content <= usable):
        return  # not a b-tree page after all (a page whose first byte only looks like one)
    buf[gap:at + content] = _ZEROS[:at + content - gap]
    free_at, seen = first_free, 0
    while free_at and seen < 10_000:
        if free_at < content or free_at + 4 > usable:
            return
        nxt = (buf[at + free_at] << 8) | buf[at + free_at + 1]
        length = (buf[at + free_at + 2] << 8) | buf[at + free_at + 3]
        if length < 4 or free_at + length > usable:
            return
        buf[at + free_at + 4:at + free_at + length] = _ZEROS[:length - 4]
        free_at, seen = nxt, seen + 1


def _freelist(snap_read, page_size: int, first: int, total: int) -> dict[int, int]:
    """The free-list pages: page number -> bytes of it in use (0 for a leaf page; a trunk page
    uses its header and its list of leaves)."""
    free: dict[int, int] = {}
    trunk, seen = first, 0
    while trunk and seen <= total and trunk not in free:
        page = snap_read(trunk)
        nxt, count = struct.unpack(">II", page[:8])
        if count > (page_size - 8) // 4:
            break
        free[trunk] = 8 + 4 * count
        for leaf in struct.unpack(f">{count}I", page[8:8 + 4 * count]):
            free.setdefault(leaf, 0)
        trunk, seen = nxt, seen + 1 + count
    return free


def snapshot(conn, ckpt_conn, path: Path, key: bytes | None) -> Snapshot | None:
    """Begin conn's read transaction so that the file equals what it sees; None when writers keep
    the WAL from being checkpointed (conn is then in no transaction). ckpt_conn: a read-write
    connection of the same file (it checkpoints). On success conn's transaction is open."""
    wal = conn.execute("pragma journal_mode").fetchone()[0] == "wal"
    for attempt in range(SNAPSHOT_TRIES):
        if wal:
            ckpt_conn.execute("pragma wal_checkpoint(passive)").fetchall()
        conn.execute("begin")
        conn.execute("select count(*) from sqlite_master").fetchone()
        if wal:
            busy, log, done = ckpt_conn.execute("pragma wal_checkpoint(passive)").fetchone()
            if busy or log != done:
                conn.execute("rollback")
                time.sleep(0.05 * (attempt + 1))
                continue
        break
    else:
        return None
    page_size = int(conn.execute("pragma page_size").fetchone()[0])
    page_count = int(conn.execute("pragma page_count").fetchone()[0])
    auto_vacuum = int(conn.execute("pragma auto_vacuum").fetchone()[0])
    fd, close = _open_fd(path)
    cipher = CipherPages.of_file(fd, key) if key is not None else None
    if cipher is not None and page_size != CIPHER_PAGE_SIZE:
        if close:
            os.close(fd)
        conn.execute("rollback")
        return None
    snap = Snapshot(fd, close, page_size, page_count, cipher, {}, auto_vacuum)
    first = snap._read(1, 1)
    page1 = cipher.decrypt(1, first) if cipher else first
    if not page1.startswith(SQLITE_MAGIC):
        snap.close()
        conn.execute("rollback")
        return None
    if cipher is None:
        snap._reserve = page1[20]

    def read(pgno: int) -> bytes:
        raw = snap._read(pgno, 1)
        return cipher.decrypt(pgno, raw) if cipher else raw

    first_trunk, total = struct.unpack(">II", page1[32:40])
    if total:
        snap.freelist = _freelist(read, page_size, first_trunk, total)
    return snap


# -- restoring pages --------------------------------------------------------------------------------

def write_pages(target: Path, chunks: Iterable[bytes], info: dict, key: bytes | None) -> None:
    """Write the pages of a backup into the new file target, encrypted with key (SQLCipher) when
    the pages came from an SQLCipher database, else as they are. Raises PageError when the stream
    does not hold exactly the pages the header announces."""
    size, count = int(info["page_size"]), int(info["page_count"])
    cipher = CipherPages(key, secrets.token_bytes(16), size) if info.get("cipher") else None
    if cipher is not None and key is None:
        raise PageError("no key for an encrypted target")
    pgno = 1
    pending = b""
    with Path(target).open("wb") as out:
        for chunk in chunks:
            data = pending + chunk if pending else chunk
            whole = len(data) // size * size
            pending = data[whole:]
            if pgno - 1 + whole // size > count:
                raise PageError("more pages than announced")
            if cipher is None:
                out.write(data[:whole] if pending else data)
            else:
                lock = LOCK_BYTE // size + 1  # SQLite's lock-byte page: never read, left as zeros
                out.write(b"".join(bytes(size) if pgno + i == lock else
                                   cipher.encrypt(pgno + i, data[i * size:(i + 1) * size])
                                   for i in range(whole // size)))
            pgno += whole // size
        if pending or pgno - 1 != count:
            raise PageError("fewer pages than announced")
        out.flush()


# -- reading rows out of pages (a plain backup into an encrypted database) -------------------------

class Spool:
    """Pages kept on disk encrypted with a key that lives in memory only (AES-CTR, the page number
    as nonce), read back at random."""

    CACHE = 4096

    def __init__(self, path: Path, page_size: int):
        self.path, self.page_size = Path(path), page_size
        self.aes = algorithms.AES(secrets.token_bytes(32))
        self.fh = self.path.open("w+b")
        self.cache: dict[int, bytes] = {}
        self.count = 0

    def _ctr(self, pgno: int):
        return Cipher(self.aes, modes.CTR(struct.pack(">QQ", pgno, 0)))

    def add(self, chunks: Iterable[bytes]) -> None:
        size, pending, pgno = self.page_size, b"", 1
        for chunk in chunks:
            data = pending + chunk if pending else chunk
            whole = len(data) // size
            pending = data[whole * size:]
            self.fh.write(b"".join(self._ctr(pgno + i).encryptor().update(data[i * size:(i + 1) * size])
                                   for i in range(whole)))
            pgno += whole
        if pending:
            raise PageError("a partial page")
        self.count = pgno - 1
        self.fh.flush()

    def page(self, pgno: int) -> bytes:
        found = self.cache.get(pgno)
        if found is not None:
            return found
        if not 1 <= pgno <= self.count:
            raise PageError(f"page {pgno} out of range")
        self.fh.seek((pgno - 1) * self.page_size)
        page = self._ctr(pgno).decryptor().update(self.fh.read(self.page_size))
        if len(self.cache) >= self.CACHE:
            self.cache.clear()
        self.cache[pgno] = page
        return page

    def close(self) -> None:
        self.fh.close()
        self.path.unlink(missing_ok=True)


def _varint(buf: bytes, at: int) -> tuple[int, int]:
    value = 0
    for i in range(8):
        b = buf[at + i]
        value = (value << 7) | (b & 0x7F)
        if b < 0x80:
            return value, at + i + 1
    return (value << 8) | buf[at + 8], at + 9


_FIXED = {1: 1, 2: 2, 3: 3, 4: 4, 5: 6, 6: 8, 7: 8}


def _record(payload: bytes) -> list:
    header_size, at = _varint(payload, 0)
    types = []
    while at < header_size:
        t, at = _varint(payload, at)
        types.append(t)
    pos = header_size
    values: list = []
    for t in types:
        if t == 0:
            values.append(None)
        elif t in _FIXED:
            n = _FIXED[t]
            raw = payload[pos:pos + n]
            pos += n
            values.append(struct.unpack(">d", raw)[0] if t == 7 else int.from_bytes(raw, "big", signed=True))
        elif t == 8:
            values.append(0)
        elif t == 9:
            values.append(1)
        elif t >= 12:
            n = (t - 12) // 2
            raw = payload[pos:pos + n]
            pos += n
            values.append(bytes(raw) if t % 2 == 0 else bytes(raw).decode("utf-8"))
        else:
            raise PageError(f"serial type {t}")
    if pos > len(payload):
        raise PageError("a record longer than its cell")
    return values


def _defaults(mem, info):
    """The default values of a table's columns, worked out when first needed."""
    found: list = []

    def get() -> list:
        if not found:
            for r in info:
                value = None
                if r[4] is not None:
                    try:
                        value = mem.execute(f"select {r[4]}").fetchone()[0]
                    except Exception:  # noqa: BLE001 - a default that is not a constant
                        value = None
                found.append(value)
        return found

    return get


class BTrees:
    """The rows of an SQLite file's b-trees, read from its pages (usable size = page size - reserve)."""

    def __init__(self, page, page_size: int, reserve: int):
        self.page, self.usable = page, page_size - reserve

    def _payload(self, page: bytes, at: int, total: int, index: bool) -> bytes:
        u = self.usable
        x = ((u - 12) * 64 // 255 - 23) if index else (u - 35)
        if total <= x:
            return page[at:at + total]
        m = (u - 12) * 32 // 255 - 23
        k = m + (total - m) % (u - 4)
        local = k if k <= x else m
        parts = [page[at:at + local]]
        left = total - local
        nxt = int.from_bytes(page[at + local:at + local + 4], "big")
        seen = 0
        while left > 0:
            if not nxt or seen > 1 << 22:
                raise PageError("an overflow chain ends early")
            over = self.page(nxt)
            part = over[4:4 + min(left, u - 4)]
            parts.append(part)
            left -= len(part)
            nxt = int.from_bytes(over[:4], "big")
            seen += 1
        return b"".join(parts)

    def cells(self, root: int) -> Iterator[tuple[int | None, bytes]]:
        """(rowid or None, payload) of every cell of the b-tree at root, in key order."""
        stack: list = [root]
        visited = 0
        while stack:
            item = stack.pop()
            if isinstance(item, tuple):  # the entry of an interior index cell, after its left child
                yield item
                continue
            visited += 1
            if visited > 1 << 26:
                raise PageError("a b-tree loops")
            pgno = item
            page = self.page(pgno)
            h = 100 if pgno == 1 else 0
            kind = page[h]
            n = (page[h + 3] << 8) | page[h + 4]
            if kind in (2, 5):
                ptrs = h + 12
                children: list = []
                for i in range(n):
                    c = (page[ptrs + 2 * i] << 8) | page[ptrs + 2 * i + 1]
                    children.append(int.from_bytes(page[c:c + 4], "big"))
                    if kind == 2:
                        size, at = _varint(page, c + 4)
                        children.append((None, self._payload(page, at, size, True)))
                children.append(int.from_bytes(page[h + 8:h + 12], "big"))
                stack.extend(reversed(children))
                continue
            if kind not in (10, 13):
                raise PageError(f"page {pgno} is not a b-tree page")
            ptrs = h + 8
            for i in range(n):
                c = (page[ptrs + 2 * i] << 8) | page[ptrs + 2 * i + 1]
                size, at = _varint(page, c)
                if kind == 13:
                    rowid, at = _varint(page, at)
                    if rowid >= 1 << 63:
                        rowid -= 1 << 64
                    yield rowid, self._payload(page, at, size, False)
                else:
                    yield None, self._payload(page, at, size, True)

    def rows(self, root: int) -> Iterator[tuple[int | None, list]]:
        for rowid, payload in self.cells(root):
            yield rowid, _record(payload)


def read_rows(spool: Spool, page_size: int, reserve: int) -> Iterator[tuple]:
    """The records of db/backup_container.dump() for the database held by spool's pages."""
    from pysqlite3 import dbapi2 as sqlite3

    from db.backup_container import _STAT_TABLES, ROWS_PER_CHUNK

    trees = BTrees(spool.page, page_size, reserve)
    page1 = spool.page(1)
    if page1[56:60] not in (b"\x00\x00\x00\x01", b"\x00\x00\x00\x00"):
        raise PageError("not UTF-8")
    entries, roots = [], {}
    for _rowid, (kind, name, tbl, root, sql) in trees.rows(1):
        entries.append((kind, name, tbl, sql))
        roots[name] = root
    # The schema in memory tells the columns, the kind of each table and its defaults.
    mem = sqlite3.connect(":memory:", isolation_level=None)
    try:
        made = set()
        for kind, name, _tbl, sql in entries:
            if kind == "table" and sql and not name.startswith("sqlite_") and name not in made:
                mem.execute(sql)
                made.update(r[1] for r in mem.execute("pragma table_list") if r[0] == "main")
        kinds = {r[1]: (r[2], r[4]) for r in mem.execute("pragma table_list") if r[0] == "main"}
        header = struct.unpack(">I", page1[60:64])[0], struct.unpack(">I", page1[68:72])[0]
        pragmas = {"user_version": header[0], "application_id": header[1], "page_size": page_size,
                   "auto_vacuum": (2 if page1[64:68] != bytes(4) else 1) if page1[52:56] != bytes(4) else 0,
                   "journal_mode": "wal" if page1[18] == 2 else "delete"}
        for name in ("sqlite_sequence", "sqlite_stat1", "sqlite_stat4"):
            if name in roots:
                kinds.setdefault(name, ("table", 0))
        yield ("snapshot", pragmas, entries, {k: v[0] for k, v in kinds.items()})
        tables = [e[1] for e in entries if e[0] == "table" and kinds.get(e[1], ("table",))[0] != "virtual"
                  and e[1] not in _STAT_TABLES]
        tables += [t for t in _STAT_TABLES if t in roots]
        counts = {}
        for name in tables:
            if name in _STAT_TABLES:
                info = {"sqlite_sequence": [(0, "name", "", 0, None, 0), (1, "seq", "", 0, None, 0)],
                        "sqlite_stat1": [(0, "tbl", "", 0, None, 0), (1, "idx", "", 0, None, 0),
                                         (2, "stat", "", 0, None, 0)]}.get(name)
                if info is None:
                    continue
            else:
                info = mem.execute(f'pragma table_info("{name.replace(chr(34), chr(34) * 2)}")').fetchall()
            cols = [r[1] for r in info]
            without_rowid = bool(kinds[name][1])
            with_rowid = not without_rowid and not {"rowid", "_rowid_", "oid"} & {c.lower() for c in cols}
            defaults = _defaults(mem, info)
            ipk = [i for i, r in enumerate(info) if r[5] == 1 and r[2].upper() == "INTEGER"]
            ipk = ipk[0] if len(ipk) == 1 and sum(1 for r in info if r[5]) == 1 and not without_rowid else None
            order = None
            if without_rowid:
                xinfo = mem.execute(f'pragma index_xinfo("{name.replace(chr(34), chr(34) * 2)}")').fetchall()
                order = [r[1] for r in xinfo if r[1] >= 0]
            yield ("table", name, cols, with_rowid)
            batch, n = [], 0
            for rowid, values in trees.rows(roots[name]):
                if order is not None:
                    row = list(defaults()) if len(values) < len(cols) else [None] * len(cols)
                    for pos, col in enumerate(order):
                        if pos < len(values):
                            row[col] = values[pos]
                    values = row
                else:
                    if len(values) < len(cols):  # columns added since the row was written
                        values = values + list(defaults()[len(values):])
                    if ipk is not None and values[ipk] is None:
                        values[ipk] = rowid
                batch.append(((rowid,) if with_rowid else ()) + tuple(values[:len(cols)]))
                if len(batch) >= ROWS_PER_CHUNK:
                    n += len(batch)
                    yield ("rows", batch)
                    batch = []
            if batch:
                n += len(batch)
                yield ("rows", batch)
            counts[name] = n
        yield ("end", counts)
    finally:
        mem.close()

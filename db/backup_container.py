"""The backup file format: a SQLite snapshot as a stream of rows, compressed and encrypted.

A backup file (name-….gdbk) is

    MAGIC | u32 header length | header (JSON) | frame 0 | frame 1 | … | last frame

The header holds what listing and choosing a base need without decrypting anything (kind, node
id, last op, the incremental's manifest; never personal data) and the file's data key (DEK, 32
random bytes) wrapped with AES-256-GCM by a key-encryption key (KEK):
- "db": derived (HKDF-SHA256) from the SQLCipher key of the database, which a password or the
  office recovery key unwraps (db/accounts/keyfile.py): a backup opens wherever the database does;
- "local": for a plain database (no accounts), a random key in the file name.sqlite.backup-key
  beside the database (mode 0600; not in the backups folder, so a copied backups folder alone
  reveals nothing). When accounts are created, every backup's DEK is re-wrapped with the
  database's KEK (rewrap(): the header only), and the local key stays only wrapped by it (copies
  of older backups kept elsewhere still restore after a login; nothing plain is left).

Frames: u32 length | AES-256-GCM(DEK, nonce = 4 zero bytes + u64 frame index) of ≤ 1 MiB of a
zstandard stream; their associated data is SHA-256(header info) + the frame index + a last-frame
flag, so a frame that is altered, moved, or missing at the end (a truncated copy) is refused.

The header's "format" says what the zstandard stream holds:
- PAGES (a full backup): the database's pages 1…N as one read transaction saw the file
  (decrypted when it is an SQLCipher file, free space zeroed; db/backup_pages.py), with a zstd
  content checksum; the header's info gives the page size and count. A restore writes them into
  a new file (encrypted again with the target's key when they came from an SQLCipher file).
- RECORDS (an incremental backup's small database, older full backups, and a full backup whose
  WAL writers kept busy): records (u32 length | marshal of a tuple: None, int, float, str, bytes
  only; read only after the frame's tag checked out): the snapshot's pragmas and schema, each
  table's rows in chunks (with their rowids), and the row counts at the end. A restore writes the
  rows into a new file (encrypted with SQLCipher when the target database is), then builds the
  indexes.
Writing and reading go chunk by chunk, so memory does not grow with the database.
"""

from __future__ import annotations

import base64
import hashlib
import io
import marshal
import os
import secrets
import struct
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import orjson
import zstandard
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from db.errors import DatabaseOpenError
from i18n import _

MAGIC = b"GDBACKUP"
RECORDS = 1  # format of a backup holding records (incremental backups, older full backups)
PAGES = 2  # format of a full backup holding the database's pages (db/backup_pages.py)
FORMAT = PAGES  # the newest format this version reads
SUFFIX = ".gdbk"
FRAME = 1 << 20  # plaintext bytes (compressed stream) per encrypted frame
ROWS_PER_CHUNK = 2000
ZSTD_LEVEL = 3
_U32 = struct.Struct(">I")
_LOCAL_KEY_SUFFIX = ".backup-key"


class BackupKeyMissing(DatabaseOpenError):
    """The key that opens a backup is not available here (another database, not logged in)."""


# -- keys -------------------------------------------------------------------------------------------

def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _hkdf(key: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(key)


def db_kek(db_key: bytes) -> bytes:
    """The backups' key-encryption key of an encrypted database (never the SQLCipher key itself)."""
    return _hkdf(db_key, b"griddesk backup kek v1")


def key_id(kek: bytes) -> str:
    return hashlib.sha256(b"griddesk backup key id|" + kek).hexdigest()[:16]


def local_key_path(db_path: Path) -> Path:
    db_path = Path(db_path)
    return db_path.with_name(db_path.name + _LOCAL_KEY_SUFFIX)


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def local_key(db_path: Path, *, create: bool) -> bytes | None:
    """The backup key of a plain database (made on first use, readable by this user only). Once
    the database is encrypted the file holds it only wrapped by the database's key (seal_local_key),
    so copies of backups made before still restore after a login."""
    from db.accounts import cipher

    path = local_key_path(db_path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        data = b""
    if len(data) == 32:
        return data
    if data.startswith(b"{"):
        key = cipher.key_for(db_path)
        if key is None:
            return None
        try:
            entry = orjson.loads(data)
            return AESGCM(db_kek(key)).decrypt(base64.b64decode(entry["nonce"]), base64.b64decode(entry["key"]),
                                               b"griddesk local backup key")
        except (InvalidTag, KeyError, ValueError, orjson.JSONDecodeError):
            return None
    if not create:
        return None
    key = secrets.token_bytes(32)
    _write_private(path, key)
    return key


def seal_local_key(db_path: Path, db_key: bytes) -> None:
    """When the database gets encrypted: its local backup key, if any, is kept only wrapped."""
    path = local_key_path(db_path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return
    if len(data) != 32:
        return
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(db_kek(db_key)).encrypt(nonce, data, b"griddesk local backup key")
    _write_private(path, orjson.dumps({"nonce": _b64(nonce), "key": _b64(sealed)}))


def _database_of(backup: Path) -> list[Path]:
    """Plain databases whose backups folder (…/backups/<stem>/) holds this backup and whose local
    backup key lies beside them: where a backup's local key is looked for."""
    folder = Path(backup).resolve().parent
    home = folder.parent.parent
    if folder.parent.name != "backups" or not home.is_dir():
        return []
    found = []
    for p in home.iterdir():
        if p.name.endswith(_LOCAL_KEY_SUFFIX):
            db = home / p.name[: -len(_LOCAL_KEY_SUFFIX)]
            if db.stem == folder.name:
                found.append(db)
    return found


def kek_for_writing(db_path: Path) -> tuple[str, bytes]:
    """("db", KEK) for an encrypted database (its key must be known), else ("local", its local key)."""
    from db.accounts import cipher, keyfile

    db_path = Path(db_path)
    key = cipher.key_for(db_path)
    if key is None and (cipher.is_encrypted_file(db_path) or keyfile.path_for(db_path).is_file()):
        raise cipher._locked_error(db_path)
    if key is not None:
        return "db", db_kek(key)
    return "local", local_key(db_path, create=True)


def _keks_for_reading(backup: Path, db_path: Path | None) -> dict[str, bytes]:
    from db.accounts import cipher

    found: dict[str, bytes] = {}
    paths = ([Path(db_path)] if db_path is not None else []) + _database_of(backup)
    for p in paths:
        key = cipher.key_for(p)
        if key is not None:
            kek = db_kek(key)
            found[key_id(kek)] = kek
        lk = local_key(p, create=False)
        if lk is not None:
            found[key_id(lk)] = lk
    key = cipher.key_for(backup)
    if key is not None:
        kek = db_kek(key)
        found[key_id(kek)] = kek
    return found


# -- the header ---------------------------------------------------------------------------------

@dataclass
class Header:
    info: dict
    wrap: dict
    format: int = RECORDS

    @property
    def digest(self) -> bytes:
        return hashlib.sha256(orjson.dumps(self.info, option=orjson.OPT_SORT_KEYS)).digest()

    def encode(self) -> bytes:
        body = orjson.dumps({"format": self.format, "info": self.info, "wrap": self.wrap},
                            option=orjson.OPT_SORT_KEYS)
        return MAGIC + _U32.pack(len(body)) + body


def is_container(path: Path) -> bool:
    try:
        with Path(path).open("rb") as fh:
            return fh.read(len(MAGIC)) == MAGIC
    except OSError:
        return False


class Damaged(DatabaseOpenError):
    """A backup file that does not read back whole; `reason` says what is wrong."""

    def __init__(self, message: str, reason: object):
        super().__init__(message)
        self.reason = reason


def damaged(path: Path, error: object) -> Damaged:
    return Damaged(_("The backup “{path}” is damaged or incomplete ({error}). Nothing was changed; "
                     "choose another backup.").format(path=Path(path).name, error=error), error)


def _read_header(fh, path: Path) -> Header:
    head = fh.read(len(MAGIC) + 4)
    if len(head) < len(MAGIC) + 4 or not head.startswith(MAGIC):
        raise damaged(path, _("not a GridDesk backup file"))
    (size,) = _U32.unpack(head[len(MAGIC):])
    if size > 1 << 24:
        raise damaged(path, _("its header is damaged"))
    try:
        data = orjson.loads(fh.read(size))
        fmt, info, wrap = int(data["format"]), dict(data["info"]), dict(data["wrap"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise damaged(path, _("its header is damaged")) from exc
    if fmt > FORMAT:
        raise DatabaseOpenError(_("The backup “{path}” was made by a newer version of GridDesk. Please update "
                                  "GridDesk.").format(path=Path(path).name))
    return Header(info, wrap, fmt)


def read_header(path: Path) -> Header | None:
    """The header of a backup file (None when it is not one or is unreadable)."""
    try:
        with Path(path).open("rb") as fh:
            return _read_header(fh, Path(path))
    except (OSError, DatabaseOpenError):
        return None


def _wrap(dek: bytes, kind: str, kek: bytes, digest: bytes) -> dict:
    nonce = secrets.token_bytes(12)
    return {"kek": kind, "kid": key_id(kek), "nonce": _b64(nonce),
            "dek": _b64(AESGCM(kek).encrypt(nonce, dek, b"griddesk backup dek|" + digest))}


def _unwrap(header: Header, path: Path, db_path: Path | None) -> bytes:
    keks = _keks_for_reading(path, db_path)
    kek = keks.get(header.wrap.get("kid", ""))
    if kek is None:
        if header.wrap.get("kek") == "db":
            raise BackupKeyMissing(_(
                "The backup “{path}” is encrypted with the key of a database that is not open here (log in to "
                "the database it belongs to, or use its office recovery key). Nothing was changed.").format(
                    path=Path(path).name))
        raise BackupKeyMissing(_(
            "The backup “{path}” was made on another computer or for another database: its backup key "
            "({key}) is not beside this database. Nothing was changed.").format(
                path=Path(path).name, key=local_key_path(db_path or Path("…")).name))
    try:
        return AESGCM(kek).decrypt(base64.b64decode(header.wrap["nonce"]), base64.b64decode(header.wrap["dek"]),
                                   b"griddesk backup dek|" + header.digest)
    except (InvalidTag, KeyError, ValueError) as exc:
        raise damaged(path, _("its header is damaged")) from exc


# -- frames -------------------------------------------------------------------------------------

def _aad(digest: bytes, index: int, last: bool) -> bytes:
    return digest + struct.pack(">QB", index, 1 if last else 0)


def _nonce(index: int) -> bytes:
    return b"\x00\x00\x00\x00" + struct.pack(">Q", index)


class _FrameWriter(io.RawIOBase):
    """A write-only stream that encrypts what it is given in frames of FRAME bytes."""

    def __init__(self, fh, dek: bytes, digest: bytes):
        self.fh, self.aes, self.digest = fh, AESGCM(dek), digest
        self.buf = bytearray()
        self.index = 0
        self.written = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.buf += data
        while len(self.buf) > FRAME:  # the last frame is written by finish(), flagged as last
            self._frame(bytes(self.buf[:FRAME]), last=False)
            del self.buf[:FRAME]
        return len(data)

    def _frame(self, plain: bytes, *, last: bool) -> None:
        sealed = self.aes.encrypt(_nonce(self.index), plain, _aad(self.digest, self.index, last))
        self.fh.write(_U32.pack(len(sealed)) + sealed)
        self.written += len(plain)
        self.index += 1

    def finish(self) -> None:
        self._frame(bytes(self.buf), last=True)
        self.buf.clear()


class _FrameReader(io.RawIOBase):
    """The decrypted stream of a backup's frames; a frame that does not authenticate raises."""

    def __init__(self, fh, dek: bytes, digest: bytes, path: Path):
        self.fh, self.aes, self.digest, self.path = fh, AESGCM(dek), digest, path
        self.buf = b""
        self.pos = 0
        self.index = 0
        self.done = False

    def readable(self) -> bool:
        return True

    def _next(self) -> None:
        head = self.fh.read(4)
        if len(head) < 4:
            raise damaged(self.path, _("the file ends too early"))
        (size,) = _U32.unpack(head)
        sealed = self.fh.read(size)
        if len(sealed) < size or size > FRAME + 64:
            raise damaged(self.path, _("the file ends too early"))
        for last in (False, True):
            try:
                self.buf = self.aes.decrypt(_nonce(self.index), sealed, _aad(self.digest, self.index, last))
            except InvalidTag:
                continue
            self.done = last
            break
        else:
            raise damaged(self.path, _("part {n} does not match its checksum").format(n=self.index + 1))
        self.pos = 0
        self.index += 1
        if self.done and self.fh.read(1):
            raise damaged(self.path, _("unexpected data after its end"))

    def readinto(self, b) -> int:
        while self.pos >= len(self.buf):
            if self.done:
                return 0
            self._next()
        n = min(len(b), len(self.buf) - self.pos)
        b[:n] = self.buf[self.pos:self.pos + n]
        self.pos += n
        return n


# -- records ------------------------------------------------------------------------------------

class _Sink:
    """Where write_stream's caller writes the plaintext stream (compressed, then encrypted)."""

    def __init__(self, z):
        self.z = z
        self.size = 0

    def write(self, data) -> None:
        self.z.write(data)
        self.size += len(data)


@contextmanager
def write_stream(target: Path, info: dict, *, db_path: Path, fmt: int = RECORDS,
                 compressor: zstandard.ZstdCompressor | None = None) -> Iterator[_Sink]:
    """A new backup file `target` (fsynced when the block ends without an error): what is written
    to the sink goes through zstandard, then into encrypted frames."""
    kind, kek = kek_for_writing(db_path)
    dek = secrets.token_bytes(32)
    header = Header(dict(info), {}, fmt)
    header.wrap = _wrap(dek, kind, kek, header.digest)
    with Path(target).open("wb") as fh:
        fh.write(header.encode())
        frames = _FrameWriter(fh, dek, header.digest)
        compressor = compressor or zstandard.ZstdCompressor(level=ZSTD_LEVEL)
        z = compressor.stream_writer(frames, closefd=False)
        sink = _Sink(z)
        yield sink
        z.flush(zstandard.FLUSH_FRAME)
        frames.finish()
        fh.flush()
        os.fsync(fh.fileno())


def write_file(target: Path, info: dict, records: Iterable[tuple], *, db_path: Path) -> int:
    """Write records into a new backup file `target` (fsynced); returns the plaintext byte count."""
    with write_stream(target, info, db_path=db_path) as sink:
        z = sink.z
        dumps, pack = marshal.dumps, _U32.pack
        for record in records:
            data = dumps(record)
            z.write(pack(len(data)))
            z.write(data)
            sink.size += 4 + len(data)
    return sink.size


@contextmanager
def open_stream(path: Path, *, db_path: Path | None = None) -> Iterator[tuple[Header, object, _FrameReader]]:
    """(header, decompressed stream, frames) of a backup file, decrypted as it is read. Raises
    DatabaseOpenError (damaged, or its key missing). The caller reads the stream to its end, then
    calls finish_stream()."""
    path = Path(path)
    with path.open("rb") as fh:
        header = _read_header(fh, path)
        dek = _unwrap(header, path, db_path)
        frames = _FrameReader(fh, dek, header.digest, path)
        try:
            yield header, zstandard.ZstdDecompressor().stream_reader(frames, read_across_frames=False), frames
        except zstandard.ZstdError as exc:
            raise damaged(path, exc) from exc


def finish_stream(frames: _FrameReader) -> None:
    """Every frame read and authenticated, up to the flagged last one."""
    while not frames.done:
        frames._next()


def read_records(path: Path, *, db_path: Path | None = None, decode: bool = True) -> Iterator:
    """The records of a backup file, decrypted and decompressed as they are read. Raises
    DatabaseOpenError (damaged, or its key missing); the caller discards what it built.
    decode=False: each record's bytes as they are (marshal.loads them to read one)."""
    path = Path(path)
    with open_stream(path, db_path=db_path) as (header, stream, frames):
        if header.format != RECORDS:
            raise damaged(path, _("it holds no records"))
        read = stream.read
        while True:
            head = read(4)
            if not head:
                break
            if len(head) < 4:
                raise damaged(path, _("the file ends too early"))
            (size,) = _U32.unpack(head)
            data = read(size)
            if len(data) < size:
                raise damaged(path, _("the file ends too early"))
            if not decode:
                yield data
                continue
            try:
                yield marshal.loads(data)
            except (ValueError, EOFError, TypeError) as exc:
                raise damaged(path, exc) from exc
        finish_stream(frames)


def last_record(path: Path, *, db_path: Path | None = None) -> tuple:
    """Read a backup file through (every frame authenticated) and decode its last record only."""
    last = b""
    for data in read_records(path, db_path=db_path, decode=False):
        last = data
    try:
        return marshal.loads(last)
    except (ValueError, EOFError, TypeError) as exc:
        raise damaged(path, exc) from exc


def rewrap(path: Path, kek_kind: str, kek: bytes, *, db_path: Path) -> bool:
    """Wrap a backup's data key with another KEK (the header is rewritten, the frames copied as they
    are). Returns False when it already uses that KEK."""
    path = Path(path)
    with path.open("rb") as fh:
        header = _read_header(fh, path)
        if header.wrap.get("kid") == key_id(kek):
            return False
        dek = _unwrap(header, path, db_path)
        header.wrap = _wrap(dek, kek_kind, kek, header.digest)
        tmp = path.with_name(path.name + ".part")
        with tmp.open("wb") as out:
            out.write(header.encode())
            while chunk := fh.read(FRAME):
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
    os.replace(tmp, path)
    return True


# -- a SQLite snapshot as records ---------------------------------------------------------------

_STAT_TABLES = ("sqlite_sequence", "sqlite_stat1", "sqlite_stat4")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def dump(conn, *, schema: str = "main", counts: dict | None = None) -> Iterator[tuple]:
    """Records of every table of `conn`'s database `schema`, read in one read transaction (the
    caller begins it). counts, if given, receives the row count of each table."""
    s = _q(schema)
    pragmas = {name: conn.execute(f"pragma {s}.{name}").fetchone()[0]
               for name in ("user_version", "application_id", "page_size", "auto_vacuum", "journal_mode")}
    kinds = {r[1]: (r[2], r[4]) for r in conn.execute(f"pragma {s}.table_list") if r[0] == schema}
    entries = [tuple(r) for r in conn.execute(
        f"select type, name, tbl_name, sql from {s}.sqlite_master order by rowid")]
    yield ("snapshot", pragmas, entries, {k: v[0] for k, v in kinds.items()})
    tables = [e[1] for e in entries if e[0] == "table" and kinds.get(e[1], ("table",))[0] != "virtual"
              and e[1] not in _STAT_TABLES]
    tables += [t for t in _STAT_TABLES if t in kinds]
    counts = {} if counts is None else counts
    for name in tables:
        cols = [r[1] for r in conn.execute(f"pragma {s}.table_info({_q(name)})")]
        with_rowid = not kinds[name][1] and not {"rowid", "_rowid_", "oid"} & {c.lower() for c in cols}
        select = ",".join((["rowid"] if with_rowid else []) + [_q(c) for c in cols])
        yield ("table", name, cols, with_rowid)
        cur = conn.execute(f"select {select} from {s}.{_q(name)}")
        n = 0
        while rows := cur.fetchmany(ROWS_PER_CHUNK):
            n += len(rows)
            yield ("rows", rows)
        counts[name] = n
    yield ("end", counts)


class Loaded:
    def __init__(self):
        self.pragmas: dict = {}
        self.counts: dict = {}


def load(conn, records: Iterable[tuple], *, schema: str = "main", untyped: bool = False,
         page_size: bool = False) -> Loaded:
    """Write the records of dump() into `conn`'s empty database `schema` (autocommit connection;
    the caller commits: this begins a transaction). untyped: every table is created with its
    column names only (an attached scratch database: values kept exactly as they were); a typed
    load re-creates the schema and goes into main only."""
    s = _q(schema)
    out = Loaded()
    later: list[str] = []
    insert = None
    columns_of: dict[str, list[str]] = {}
    for record in records:
        tag = record[0]
        if tag == "rows":
            conn.executemany(insert, record[1])
        elif tag == "table":
            name, cols, with_rowid = record[1], record[2], record[3]
            if untyped:
                conn.execute(f"create table {s}.{_q(name)} ({','.join(_q(c) for c in cols)})")
            else:
                here = {r[1] for r in conn.execute(f"pragma {s}.table_info({_q(name)})")}
                if not here:
                    raise ValueError(f"table {name} missing")
                if here != set(cols):
                    raise ValueError(f"table {name} has other columns")
                conn.execute(f"delete from {s}.{_q(name)}")  # shadow tables made by their virtual table
            columns_of[name] = cols
            names = (["rowid"] if with_rowid else []) + [_q(c) for c in cols]
            insert = (f"insert into {s}.{_q(name)} ({','.join(names)}) "
                      f"values ({','.join('?' * len(names))})")
        elif tag == "snapshot":
            out.pragmas, entries, kinds = record[1], record[2], record[3]
            if untyped:
                continue
            conn.execute(f"pragma auto_vacuum = {int(out.pragmas.get('auto_vacuum', 0))}")
            if page_size:
                conn.execute(f"pragma page_size = {int(out.pragmas.get('page_size', 4096))}")
            conn.execute("begin")
            for kind, name, _tbl, sql in entries:
                if sql is None:
                    continue  # an automatic index (made with its table)
                if kind == "table":
                    if kinds.get(name) == "shadow" or name == "sqlite_sequence":
                        continue  # made by its virtual table / by an AUTOINCREMENT table
                    conn.execute(sql)
                else:
                    later.append(sql)
        elif tag == "end":
            out.counts = dict(record[1])
            for sql in later:  # indexes once the rows are in, triggers after the rows, views
                conn.execute(sql)
            for name in ("user_version", "application_id"):
                if name in out.pragmas and not untyped:
                    conn.execute(f"pragma {s}.{name} = {int(out.pragmas[name])}")
            for name, n in out.counts.items():
                if name in columns_of and conn.execute(f"select count(*) from {s}.{_q(name)}").fetchone()[0] != n:
                    raise ValueError(f"table {name}: row count")
            return out
        else:
            raise ValueError(f"unknown record {tag!r}")
    raise ValueError("the backup ends before its last record")

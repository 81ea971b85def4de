"""Postings of 1-2 character search terms: a contentless FTS5 table, register_tok.

Each live person's index row (same rowid as register_search, so rowid order is display order)
has one document: its tokens separated by spaces. Tokens are each Chinese character and each pair
of neighbouring characters with a Chinese one (张三, 3栋, 单元) of the names and the address, and
the first letter of each pinyin or initials field. FTS5 keeps them as compact doclists in rowid
order, so "the first 200 persons whose tokens include 3栋" reads a few pages and stops.

The `ascii` tokenizer makes every non-ASCII character a token character; the ASCII punctuation
listed in TOKEN_CHARS is made one too, so a pair such as "-1" or "#3" stays one token. Only the
space, the two quote marks and control characters separate tokens: a term holding one of them is
not answered from the postings (see exact()).
"""

from __future__ import annotations

SEP = "\x1f"  # starts each field of the short key (db.register.index.SEP)
TOKEN_CHARS = "!#$%&()*+,-./:;<=>?@[\\]^_`{|}~"
_SQL_TOKEN_CHARS = TOKEN_CHARS.replace("'", "''")

CREATE_POSTINGS = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS register_tok USING fts5(tokens, "
    f"tokenize=\"ascii tokenchars '{_SQL_TOKEN_CHARS}'\", content='', contentless_delete=1, detail='none')")

FTS_HASH_SIZE = 16 << 20  # bytes of pending FTS5 postings held in memory before a segment is written

SEPARATORS = frozenset(chr(c) for c in range(128) if not chr(c).isalnum() and chr(c) not in TOKEN_CHARS)
assert SEPARATORS == {chr(c) for c in range(32)} | {" ", '"', "'", chr(127)}  # what exact() tests


def encode(token: str) -> str:
    """A posting token as stored: SEP + letter (a pinyin field starting with it) becomes the bare
    letter. No other token is ASCII letters only (pairs hold a Chinese character), so it is unique."""
    return token[1:] if token[:1] == SEP else token


def exact(token: str) -> bool:
    """Whether the tokenizer keeps this token whole (no separator character in it: a control
    character, the space or a quote mark; each test is one pass in C)."""
    return token.isprintable() and " " not in token and '"' not in token and "'" not in token


def match(term: str) -> str:
    """The MATCH expression finding one token (an FTS5 string: quotes doubled)."""
    return '"' + encode(term).replace('"', '""') + '"'

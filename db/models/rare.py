"""Readings that people add for characters pypinyin does not know (王𠮷: 𠮷 is jí)."""

from __future__ import annotations

from peewee import TextField

from db.models import SyncedModel


class CharReading(SyncedModel):
    """A pinyin reading (toneless, lower case: "ji") of one character, shared by every laptop of the
    community through the op log. Two laptops adding readings for one character add two rows: the
    search index uses all live readings of a character, so nothing conflicts."""

    char = TextField()
    reading = TextField()

    class Meta:
        table_name = "char_reading"


RARE_MODELS = [CharReading]

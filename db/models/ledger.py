"""Ledger import/export bookkeeping (this machine only): mapping templates, department export
templates, import batches (for undoing a whole import as one step)."""

from __future__ import annotations

from peewee import BlobField, IntegerField, TextField

from db.models import BaseModel


class ImportMapping(BaseModel):
    """A named column mapping: {normalised header text: GridDesk field}."""

    name = TextField(primary_key=True)
    mapping = TextField()  # JSON
    created_at = TextField(null=True)

    class Meta:
        table_name = "ledger_import_mapping"


class ExportTemplate(BaseModel):
    """A department's .xlsx form, kept as bytes, with its columns mapped to GridDesk fields once."""

    name = TextField(primary_key=True)
    file_name = TextField(null=True)
    content = BlobField()
    sheet = TextField(null=True)
    header_row = IntegerField()  # 0-based row of the column titles
    mapping = TextField()  # JSON {column index: field}
    created_at = TextField(null=True)

    class Meta:
        table_name = "ledger_export_template"


class ImportBatch(BaseModel):
    """One committed import: its ops are (node, first_counter..last_counter) of the op log."""

    id = TextField(primary_key=True)
    at = TextField()
    user = TextField(null=True)
    file_name = TextField(null=True)
    node = TextField()
    first_counter = IntegerField()
    last_counter = IntegerField()
    created = IntegerField(default=0)
    updated = IntegerField(default=0)
    skipped = IntegerField(default=0)
    undone_at = TextField(null=True)

    class Meta:
        table_name = "ledger_import_batch"


LEDGER_MODELS = [ImportMapping, ExportTemplate, ImportBatch]

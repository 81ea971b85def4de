"""`griddesk check`: SQLite integrity, foreign keys, and tables equal to a rebuild from the op log."""

from __future__ import annotations

from dataclasses import dataclass, field

from db import oplog
from i18n import _


@dataclass
class CheckReport:
    lines: list[str] = field(default_factory=list)
    problem_count: int = 0

    @property
    def ok(self) -> bool:
        return self.problem_count == 0


def run_check(store) -> CheckReport:
    report = CheckReport()
    db = store.db
    integrity = [r[0] for r in db.execute_sql("pragma integrity_check").fetchall()]
    if integrity == ["ok"]:
        report.lines.append(_("Integrity: ok"))
    else:
        report.problem_count += len(integrity)
        report.lines.append(_("Integrity: {n} problem(s)").format(n=len(integrity)))
        report.lines.extend("  " + line for line in integrity[:20])
    fk = db.execute_sql("pragma foreign_key_check").fetchall()
    if not fk:
        report.lines.append(_("Foreign keys: ok"))
    else:
        report.problem_count += len(fk)
        report.lines.append(_("Foreign keys: {n} row(s) point to missing rows").format(n=len(fk)))
        for table, rowid, parent, _fkid in fk[:20]:
            report.lines.append("  " + _("table {table}, row {rowid} → missing {parent}").format(
                table=table, rowid=rowid, parent=parent))
    _check_faults(store, report)
    _check_chains(store, report)
    problems = oplog.compare_with_log(store, limit=50)
    if not problems:
        report.lines.append(_("Tables equal a rebuild from the op log: ok"))
    else:
        report.problem_count += len(problems)
        report.lines.append(_("Tables differ from the op log in {n} place(s):").format(n=len(problems)))
        for p in problems:
            if p["problem"] == "value":
                report.lines.append("  " + _("{table} {row}: column {column} is {actual!r}, the op log says "
                                             "{expected!r}").format(table=p["table"], row=p["row_id"],
                                                                    column=p["column"],
                                                                    actual=p["table_value"],
                                                                    expected=p["log_value"]))
            elif p["problem"] == "missing_row":
                report.lines.append("  " + _("{table} {row}: in the op log but missing from the table").format(
                    table=p["table"], row=p["row_id"]))
            else:
                report.lines.append("  " + _("{table} {row}: in the table but not in the op log").format(
                    table=p["table"], row=p["row_id"]))
    return report


def _check_faults(store, report: CheckReport) -> None:
    """The same op id seen with different content (db/sync/faults.py): a problem until resolved."""
    from db.sync.faults import describe_fault, list_faults

    found = list_faults(store, limit=50)
    if not found:
        report.lines.append(_("Op ids (each names one change only): ok"))
        return
    n = store.db.execute_sql("select count(*) from sync_op_fault").fetchone()[0]
    report.problem_count += n
    report.lines.append(_("{n} op id(s) were seen with two different contents: a copy of this database (or of "
                          "the sender's) wrote under the same identity. Both versions are kept:").format(n=n))
    report.lines.extend("  " + describe_fault(f) for f in found)


def _check_chains(store, report: CheckReport) -> None:
    """Changes kept without a full proof of origin (db/sync/chains.py): holes, forks, older versions."""
    from db.sync.chains import describe_note, list_notes

    notes = list_notes(store, limit=50)
    if not notes:
        report.lines.append(_("Proofs of origin (every change signed by the device that made it): ok"))
        return
    serious = [n for n in notes if n["kind"] != "unproven"]
    report.problem_count += len(serious)
    report.lines.append(_("{n} note(s) about changes kept without a full proof of origin:").format(n=len(notes)))
    report.lines.extend("  " + describe_note(n) for n in notes)

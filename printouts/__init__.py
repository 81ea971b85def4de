"""Printed forms (no Qt): plain data in (printouts.data), PDF bytes out.

- fonts:     the shipped CJK TrueType faces, registered once and embedded in every PDF, with a
             per-character coverage check (never a silent fallback to a Latin font).
- layout:    GB/T 9704 page geometry, paragraph styles (Chinese line breaking), build_pdf with
             progress, cancel and page numbers.
- notice:    会议通知 and free-text notices in the official layout.
- tables:    签到表 and register lists of any length.
- household: 入户登记表 and 入户走访记录.
"""

"""Excel and CSV ledgers in and out: read, map, preview, commit, undo, export (no Qt here)."""

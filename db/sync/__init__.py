"""Sync and USB handover: device identity, bundles (encrypted, signed), receipts, conflicts."""

"""同步与交接: export to a USB stick, import with preview, history, conflicts review, devices."""

from views.sync.screen import SyncScreen

__all__ = ["SyncScreen"]

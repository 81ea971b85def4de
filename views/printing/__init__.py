"""The printing screen (打印): forms, preview, system print dialog, save as PDF, batch jobs."""

from views.printing.screen import PrintingScreen

__all__ = ["PrintingScreen"]

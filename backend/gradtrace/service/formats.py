"""The export formats as the service names them: the table itself is ``gradtrace.export.formats``."""

from gradtrace.export.formats import FORMATS, Format, FormatName, format_for_path, render

__all__ = ["FORMATS", "Format", "FormatName", "format_for_path", "render"]

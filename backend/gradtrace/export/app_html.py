"""The interactive notebook view: the built web app and one graph in a single HTML document.

This works the way plotly's offline mode does: everything the page needs (the app bundle,
its CSS, both layout workers, the graph JSON) is written into the document, so a notebook
output or a saved ``.html`` file works with no server and no network. In Jupyter the
document goes into an ``<iframe srcdoc>`` so that the app's CSS and scripts cannot touch
the notebook page, and the notebook's cannot touch the app.

The page is derived from the built ``index.html`` (so the view has the same controls as
the web app); ``<html data-embed>`` hides what needs a server and tells ``main.js`` to let
``embed.js`` start the viewer from the inline graph.
"""

from __future__ import annotations

import os
import re
from html import escape
from pathlib import Path
from typing import Any

from gradtrace.export.html import to_html
from gradtrace.export.jsonio import to_json_bytes

ENV_STATIC_DIR = "GRADTRACE_STATIC_DIR"
NOTEBOOK_HEIGHT = 600
# The built files the document inlines (``node build.mjs`` writes them into frontend/dist).
PAGE, SCRIPT, STYLES = "index.html", "embed.js", "styles.css"
WORKERS = {"elk": "elk-worker.min.js", "fast": "fast-layout-worker.js"}
REQUIRED = (PAGE, SCRIPT, STYLES, *WORKERS.values())
BUILD_HINT = (
    "Showing the static drawing: the interactive view needs the built web app "
    "(cd frontend && npm ci && node build.mjs, or set GRADTRACE_STATIC_DIR)."
)
# Nothing may load from elsewhere: the page is self-contained by construction, and the
# policy makes any slip fail loudly instead of silently needing the network.
_CSP = (
    "default-src 'none'; script-src 'unsafe-inline' blob:; worker-src blob:; "
    "style-src 'unsafe-inline'; img-src data: blob:; font-src data:"
)
_SOURCE_MAP = re.compile(r"^\s*(//[#@]|/\*[#@]) sourceMappingURL=.*$", re.MULTILINE)
_HEAD_RESOURCE = re.compile(
    r'\s*<meta http-equiv="Content-Security-Policy"[^>]*>'
    r"|\s*<link\b[^>]*>"
    r"|\s*<script\b[^>]*\bsrc=[^>]*>\s*</script>",
    re.IGNORECASE,
)


def find_frontend_dist() -> Path | None:
    """The built web app: ``$GRADTRACE_STATIC_DIR`` when set, else this checkout's ``frontend/dist``.

    Returns None when the folder lacks any file the document inlines (not built yet).
    """
    configured = os.environ.get(ENV_STATIC_DIR)
    folder = Path(configured) if configured else Path(__file__).resolve().parents[3] / "frontend" / "dist"
    return folder if _is_built(folder) else None


def _is_built(folder: Path) -> bool:
    return all((folder / name).is_file() for name in REQUIRED)


def _read_asset(folder: Path, name: str) -> str:
    """A built text file without its source-map link (the map is another file)."""
    return _SOURCE_MAP.sub("", (folder / name).read_text("utf-8")).rstrip() + "\n"


def script_text(text: str) -> str:
    """Text safe inside a ``<script>`` element: it cannot end the element early.

    ``</script`` would close the element and ``<!--`` can switch the HTML parser into the
    escaped script state; ``<\\/`` and ``<\\!`` mean the same inside JS strings and regexes.
    """
    text = re.sub(r"</(script)", r"<\\/\1", text, flags=re.IGNORECASE)
    return text.replace("<!--", "<\\!--")


def json_text(value: Any) -> str:
    """JSON safe inside a ``<script type="application/json">``: every ``<`` as ``\\u003c``."""
    return to_json_bytes(value).decode("utf-8").replace("<", "\\u003c")


def _style_text(text: str) -> str:
    return re.sub(r"</(style)", r"<\\/\1", text, flags=re.IGNORECASE)


def _head(folder: Path) -> str:
    styles = _style_text(_read_asset(folder, STYLES))
    return (
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n'
        f"<style>\n{styles}</style>\n"
    )


def _body_end(graph: dict[str, Any], lang: str, folder: Path) -> str:
    parts = [
        f'<script type="application/json" id="gradtrace-graph">{json_text(graph)}</script>',
        f'<script type="application/json" id="gradtrace-options">{json_text({"lang": lang})}</script>',
    ]
    for name, file in WORKERS.items():
        source = script_text(_read_asset(folder, file))
        parts.append(f'<script type="text/plain" id="gradtrace-worker-{name}">{source}</script>')
    parts.append(f'<script type="module">{script_text(_read_asset(folder, SCRIPT))}</script>')
    return "\n".join(parts) + "\n"


def to_app_html(graph: dict[str, Any], *, lang: str = "en", dist: Path | None = None) -> str | None:
    """The standalone interactive page for ``graph``, or None when the web app is not built.

    ``dist`` is the built frontend folder; by default ``find_frontend_dist()``.
    """
    folder = dist if dist is not None else find_frontend_dist()
    if folder is None or not _is_built(folder):
        return None
    lang = "ko" if lang == "ko" else "en"
    page = (folder / PAGE).read_text("utf-8")
    page = _HEAD_RESOURCE.sub("", page)
    page = re.sub(r"<html\b[^>]*>", f'<html lang="{lang}" data-theme="light" data-embed>', page, count=1)
    page = page.replace("</head>", _head(folder) + "</head>", 1)
    return page.replace("</body>", _body_end(graph, lang, folder) + "</body>", 1)


def to_notebook_html(graph: dict[str, Any], *, lang: str = "en", dist: Path | None = None,
                     height: int = NOTEBOOK_HEIGHT) -> str:
    """What Jupyter shows: the page in an ``<iframe srcdoc>``, else the static SVG drawing.

    The iframe isolates the app from the notebook page and needs no trusted-notebook
    scripts in the output itself; without a built app the offline SVG of
    ``export/html.py`` is shown with a one-line note on how to build it.
    """
    document = to_app_html(graph, lang=lang, dist=dist)
    if document is None:
        note = f'<p style="font:12px sans-serif;color:#555;margin:0 0 4px">{escape(BUILD_HINT)}</p>'
        return note + to_html(graph)
    return (
        f'<iframe srcdoc="{escape(document, quote=True)}" title="gradtrace graph" '
        f'style="width:100%;height:{int(height)}px;border:1px solid #ccc;border-radius:4px" '
        'allow="fullscreen"></iframe>'
    )


def to_standalone_html(graph: dict[str, Any], *, lang: str = "en", dist: Path | None = None) -> str:
    """A file to save and open anywhere: the interactive page, else the static drawing.

    Unlike ``to_app_html`` this never returns None, so ``Graph.to_html(path)`` always
    writes something useful (the drawing carries the note on how to build the web app).
    """
    document = to_app_html(graph, lang=lang, dist=dist)
    if document is not None:
        return document
    body = to_notebook_html(graph, lang=lang, dist=dist)
    head = '<head><meta charset="utf-8"><title>gradtrace</title></head>'
    return f'<!doctype html>\n<html lang="{escape(lang)}">{head}<body>{body}</body></html>\n'

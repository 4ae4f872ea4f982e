"""Serialisers of the graph dict: JSON, Graphviz DOT, networkx, GraphML, node-link."""

from gradtrace.export.app_html import find_frontend_dist, to_app_html, to_notebook_html, to_standalone_html
from gradtrace.export.dot import to_dot
from gradtrace.export.html import to_html
from gradtrace.export.jsonio import to_json_bytes
from gradtrace.export.nx import to_graphml, to_networkx, to_node_link
from gradtrace.export.text import summary_text
from gradtrace.export.wire import compact, expand

__all__ = [
    "compact",
    "expand",
    "find_frontend_dist",
    "summary_text",
    "to_app_html",
    "to_dot",
    "to_graphml",
    "to_html",
    "to_json_bytes",
    "to_networkx",
    "to_node_link",
    "to_notebook_html",
    "to_standalone_html",
]

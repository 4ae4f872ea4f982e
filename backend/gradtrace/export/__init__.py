"""Serialisers of the graph dict: JSON, Graphviz DOT, networkx, GraphML, node-link."""

from gradtrace.export.dot import to_dot
from gradtrace.export.html import to_html
from gradtrace.export.jsonio import to_json_bytes
from gradtrace.export.nx import to_graphml, to_networkx, to_node_link
from gradtrace.export.text import summary_text

__all__ = ["summary_text", "to_dot", "to_graphml", "to_html", "to_json_bytes", "to_networkx", "to_node_link"]

// The graph JSON says each summary once (backend/gradtrace/export/wire.py): a field that
// another field already says is left out, and put back here before anything reads it.
//  - an input edge without `grad`: its source tensor's `grad`;
//  - a saved item with `value_of` and no `summary`: that tensor node's `value`;
//  - a pass's leaf without `value`: the node's `value`; without `grad`/`grad_after`: the node's `grad`.
// A field written as null stays null.

/**
 * Puts back, in place, what the server left out; a graph already expanded is unchanged.
 * @param {object} graph the graph JSON @returns {object} the same object
 */
export function expandGraph(graph) {
  if (!graph || !Array.isArray(graph.nodes) || !Array.isArray(graph.edges)) return graph;
  const nodes = new Map(graph.nodes.map((n) => [n.id, n]));
  for (const edge of graph.edges) {
    if (edge.kind === 'input') fill(edge, 'grad', nodes.get(edge.source)?.grad);
  }
  for (const node of graph.nodes) {
    for (const item of node.saved || []) {
      if (!('value_of' in item)) continue;
      fill(item, 'summary', nodes.get(item.value_of)?.value);
      delete item.value_of;
    }
  }
  for (const pass of graph.backward_passes || []) {
    for (const leaf of pass.leaves || []) {
      const owner = nodes.get(leaf.node);
      fill(leaf, 'value', owner?.value);
      fill(leaf, 'grad', owner?.grad);
      fill(leaf, 'grad_after', owner?.grad);
    }
  }
  return graph;
}

/** @param {object} item @param {string} key @param {unknown} implied */
function fill(item, key, implied) {
  if (!(key in item) && implied != null) item[key] = implied;
}

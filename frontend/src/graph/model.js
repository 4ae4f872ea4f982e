// The graph JSON turned into what we draw: the tensor view, the raw autograd view
// (grad_fn nodes only, like torchviz), and modules collapsed into one node.

import { expandGraph } from './wire.js';

/**
 * @typedef {object} ViewNode
 * @property {string} id
 * @property {'tensor'|'op'|'group'} kind
 * @property {object} data        the node from the graph JSON (a group: {module, members})
 * @property {number} [width]
 * @property {number} [height]
 *
 * @typedef {object} ViewEdge
 * @property {string} id
 * @property {string} source
 * @property {string} target
 * @property {'input'|'output'|'cut'} kind
 * @property {object[]} originals the graph JSON edges this one stands for
 *
 * @typedef {object} ViewGraph
 * @property {ViewNode[]} nodes
 * @property {ViewEdge[]} edges
 * @property {Map<string, string>} alias  graph JSON node id -> view node id
 */

/**
 * Indexes of a graph JSON used everywhere.
 * @param {object} graph @param {string} [source] the program text, to name unnamed tensors
 */
export function indexGraph(graph, source = '') {
  expandGraph(graph);
  const nodes = new Map(graph.nodes.map((n) => [n.id, n]));
  const inputsOf = new Map();
  const outputsOf = new Map();
  const consumersOf = new Map();
  const producerOf = new Map();
  for (const edge of graph.edges) {
    if (edge.kind === 'input') {
      push(inputsOf, edge.target, edge);
      push(consumersOf, edge.source, edge);
    } else if (edge.kind === 'output') {
      push(outputsOf, edge.source, edge);
      producerOf.set(edge.target, edge);
    }
  }
  const names = new Map(Object.entries(graph.variables || {}).map(([name, id]) => [id, name]));
  const inferred = inferInputs(graph, nodes, inputsOf, names);
  for (const edge of inferred) {
    push(inputsOf, edge.target, edge);
    push(consumersOf, edge.source, edge);
  }
  const edges = inferred.length ? [...graph.edges, ...inferred] : graph.edges;
  // A loop's iterations each make a tensor from the same text: the text names it within its pass.
  const passOf = new Map();
  (graph.backward_passes || []).forEach((pass, k) => {
    for (const id of pass.nodes || []) if (!passOf.has(id)) passOf.set(id, k);
  });
  const spanUses = new Map();
  for (const node of graph.nodes) {
    if (node.kind !== 'tensor' || !node.span) continue;
    const key = spanKey(node.span, passOf.get(node.id));
    spanUses.set(key, (spanUses.get(key) || 0) + 1);
  }
  return { graph, nodes, edges, inputsOf, outputsOf, consumersOf, producerOf, names, spanUses, passOf, sourceLines: source.split('\n') };
}

/** The argument each input slot (autograd's next_functions order) stands for, by op label. */
export const SLOT_ARGS = {
  addmm: ['self', 'mat1', 'mat2'],
  addmv: ['self', 'mat', 'vec'],
  mm: ['self', 'mat2'],
  bmm: ['self', 'mat2'],
  mse_loss: ['self', 'target'],
  l1_loss: ['self', 'target'],
  smooth_l1_loss: ['self', 'target'],
  huber_loss: ['self', 'target'],
  binary_cross_entropy: ['self', 'target', 'weight'],
  nll_loss: ['self', 'target', 'weight'],
};

/**
 * Inputs the graph has no edge for (nn.Linear's input x reaches addmm without one, as it needs
 * no gradient): the op saved that tensor, and exactly one named tensor of the program holds
 * those very values (same dtype, shape and every element; two or more elements). Such an edge
 * is marked inferred and carries no gradient.
 */
function inferInputs(graph, nodes, inputsOf, names) {
  const out = [];
  for (const op of graph.nodes) {
    const args = op.kind === 'op' ? SLOT_ARGS[op.label] : null;
    if (!args) continue;
    const present = new Set((inputsOf.get(op.id) || []).map((e) => e.slot ?? 0));
    args.forEach((arg, slot) => {
      if (present.has(slot)) return;
      const saved = (op.saved || []).find((s) => s.name === arg && s.summary && s.summary.numel >= 2);
      if (!saved) return;
      const matches = graph.nodes.filter((n) => n.kind === 'tensor' && (n.name || names.has(n.id)) && sameValues(n.value, saved.summary));
      if (matches.length !== 1 || !nodes.has(matches[0].id)) return;
      out.push({ id: `in:${op.id}:${slot}`, source: matches[0].id, target: op.id, kind: 'input', slot, inferred: true });
    });
  }
  return out;
}

/** Whether two summaries hold the same tensor values (all of them known). */
export function sameValues(a, b) {
  if (!a || !b || a.numel !== b.numel || a.dtype !== b.dtype || a.shape.join(',') !== b.shape.join(',')) return false;
  if (a.data === null || a.data === undefined || b.data === null || b.data === undefined) return false;
  const x = [a.data].flat(Infinity);
  const y = [b.data].flat(Infinity);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

function spanKey(span, pass = undefined) {
  return `${pass ?? ''}|${span.line}:${span.col}:${span.end_line}:${span.end_col}`;
}

function push(map, key, value) {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

export function isAccumulate(node) {
  return node?.kind === 'op' && (node.variable != null || node.op === 'AccumulateGrad');
}

/**
 * @param {ReturnType<typeof indexGraph>} index
 * @param {{view: 'tensor'|'raw', collapse: boolean, pass?: number|null, open?: Set<string>}} options
 *   pass: show only that backward pass's graph (one iteration of a training loop), by position
 *   in backward_passes; open: module paths unfolded one level (a click on a folded module)
 * @returns {ViewGraph}
 */
export function buildView(index, { view, collapse, pass = null, open = new Set() }) {
  const only = passNodes(index, pass);
  const base = view === 'raw' ? rawView(index, only) : tensorView(index, only);
  return collapse ? collapseModules(base, index, open) : base;
}

/**
 * The node ids of one pass's graph: its own list, with the leaves' AccumulateGrad nodes and
 * the constants its ops read; null (everything) without a pass or for JSON that lists none.
 */
export function passNodes(index, pass) {
  const ids = pass === null || pass === undefined ? null : index.graph.backward_passes?.[pass]?.nodes;
  if (!ids?.length) return null;
  const only = new Set(ids);
  for (const id of ids) {
    for (const edge of index.inputsOf.get(id) || []) only.add(edge.source);
  }
  for (const node of index.graph.nodes) {
    if (isAccumulate(node) && only.has(node.variable)) only.add(node.id);
  }
  return only;
}

function tensorView(index, only = null) {
  const { graph } = index;
  const nodes = only ? new Map([...index.nodes].filter(([id]) => only.has(id))) : index.nodes;
  const hidden = new Set(graph.nodes.filter(isAccumulate).map((n) => n.id));
  const viewNodes = graph.nodes.filter((n) => !hidden.has(n.id) && nodes.has(n.id)).map((n) => ({ id: n.id, kind: n.kind, data: n }));
  const edges = index.edges
    .filter((e) => !hidden.has(e.source) && !hidden.has(e.target) && nodes.has(e.source) && nodes.has(e.target))
    .map((e) => ({ id: e.id, source: e.source, target: e.target, kind: e.kind, originals: [e] }));
  const alias = new Map(viewNodes.map((n) => [n.id, n.id]));
  for (const id of hidden) {
    const variable = index.nodes.get(id).variable;
    if (variable && nodes.has(variable)) alias.set(id, variable);
  }
  return { nodes: viewNodes, edges, alias };
}

function rawView(index, only = null) {
  const { graph, producerOf } = index;
  const nodes = only ? new Map([...index.nodes].filter(([id]) => only.has(id))) : index.nodes;
  const ops = graph.nodes.filter((n) => n.kind === 'op' && nodes.has(n.id));
  const edges = [];
  for (const edge of graph.edges) {
    if (edge.kind !== 'input' || !nodes.has(edge.target)) continue;
    const producer = producerOf.get(edge.source);
    if (!producer || !nodes.has(producer.source)) continue;
    edges.push({ id: edge.id, source: producer.source, target: edge.target, kind: 'input', originals: [edge] });
  }
  const alias = new Map(ops.map((n) => [n.id, n.id]));
  for (const n of graph.nodes) {
    if (n.kind === 'tensor' && producerOf.has(n.id)) alias.set(n.id, producerOf.get(n.id).source);
  }
  return { nodes: ops.map((n) => ({ id: n.id, kind: 'op', data: n })), edges, alias };
}

/**
 * How deep to fold: the first depth where no single module holds nearly everything
 * (`model` alone is one box; `model.0`, `model.1`, … is the network's layers).
 */
function foldDepth(nodes) {
  const paths = nodes.map((n) => n.data.module).filter(Boolean);
  const deepest = Math.max(1, ...paths.map((p) => p.split('.').length));
  for (let depth = 1; depth < deepest; depth++) {
    const counts = new Map();
    for (const p of paths) {
      const key = p.split('.').slice(0, depth).join('.');
      counts.set(key, (counts.get(key) || 0) + 1);
    }
    if (Math.max(...counts.values()) < 0.8 * paths.length) return depth;
  }
  return deepest;
}

/**
 * The module a node folds into: its path at the fold depth, one level deeper for each
 * unfolded module on the way; null when the node's own module is unfolded (shown itself).
 */
function foldedPath(node, depth, open) {
  const parts = node?.module ? node.module.split('.') : [];
  if (!parts.length) return null;
  let d = Math.min(depth, parts.length);
  while (open.has(parts.slice(0, d).join('.'))) {
    if (d === parts.length) return null;
    d += 1;
  }
  return parts.slice(0, d).join('.');
}

/**
 * Folds every module (at the depth foldDepth picks) into one group node, but the unfolded
 * ones (open) into their children; the output stays visible.
 */
function collapseModules(view, index, open) {
  const outputId = index.graph.output;
  const depth = foldDepth(view.nodes);
  const groupOf = new Map();
  const groups = new Map();
  for (const node of view.nodes) {
    const module = node.id === outputId ? null : foldedPath(node.data, depth, open);
    if (!module) continue;
    const groupId = `module:${module}`;
    groupOf.set(node.id, groupId);
    if (!groups.has(groupId)) groups.set(groupId, { id: groupId, kind: 'group', data: { module, members: [] } });
    groups.get(groupId).data.members.push(node.id);
  }
  if (!groups.size) return view;
  const mapId = (id) => groupOf.get(id) ?? id;
  const nodes = [...view.nodes.filter((n) => !groupOf.has(n.id)), ...groups.values()];
  const merged = new Map();
  for (const edge of view.edges) {
    const source = mapId(edge.source);
    const target = mapId(edge.target);
    if (source === target) continue;
    const key = `${source}->${target}`;
    if (merged.has(key)) merged.get(key).originals.push(...edge.originals);
    else merged.set(key, { ...edge, id: source === edge.source && target === edge.target ? edge.id : key, source, target, originals: [...edge.originals] });
  }
  const alias = new Map();
  for (const [orig, viewId] of view.alias) alias.set(orig, mapId(viewId));
  return { nodes, edges: [...merged.values()], alias };
}

/** Whether the graph has modules worth collapsing. */
export function hasModules(graph) {
  return graph.nodes.some((n) => n.module);
}

/** A name for a tensor in narration: the user's variable, else the op that made it. */
export function tensorName(index, id) {
  const node = index.nodes.get(id);
  if (!node) return id;
  if (node.name) return node.name;
  if (index.names.has(id)) return index.names.get(id);
  // The program text names a tensor only when no other tensor came from the same text.
  const snippet = index.spanUses?.get(spanKey(node.span ?? {}, index.passOf?.get(id))) === 1 ? sourceText(index, node.span) : null;
  if (snippet) return snippet;
  const producer = index.producerOf.get(id);
  const op = producer && index.nodes.get(producer.source);
  if (op && !isAccumulate(op)) {
    // nn.Linear's weight.t(): the weight, transposed (model.0.weightᵀ), not "model.0.t".
    const transposed = op.label === 't' ? index.inputsOf.get(op.id)?.[0] : null;
    if (transposed) return `${tensorName(index, transposed.source)}ᵀ`;
    return node.module ? `${node.module}.${op.label}` : `${op.label}(…)`;
  }
  return node.role === 'param' ? `param ${id}` : id;
}

const SNIPPET_MAX = 24;

/** The program text of a one-line span, when short enough to stand for a name. */
export function sourceText(index, span) {
  if (!span || span.line !== span.end_line) return null;
  const line = index.sourceLines?.[span.line - 1];
  if (!line) return null;
  const text = [...line].slice(span.col - 1, span.end_col - 1).join('').trim();
  if (!text || [...text].length > SNIPPET_MAX) return null;
  return /^[\w.]+$/.test(text) ? text : `(${text})`;
}

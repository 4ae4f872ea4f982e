// A fast layered layout for big graphs (thousands of nodes), where ELK is too slow:
// longest-path layering, barycenter ordering sweeps, then a compaction of each
// layer toward its neighbours. Edges are smooth curves between layers.

const LAYER_GAP = 70;
const NODE_GAP = 16;
const SWEEPS = 4;

/**
 * @param {{id:string, width:number, height:number}[]} nodes
 * @param {{id:string, source:string, target:string}[]} edges
 */
export function fastLayered(nodes, edges) {
  const index = new Map(nodes.map((n, i) => [n.id, i]));
  const preds = nodes.map(() => []);
  const succs = nodes.map(() => []);
  for (const e of edges) {
    const s = index.get(e.source);
    const t = index.get(e.target);
    if (s === undefined || t === undefined || s === t) continue;
    succs[s].push(t);
    preds[t].push(s);
  }
  const layer = longestPathLayers(nodes.length, preds, succs);
  const layers = groupByLayer(layer);
  orderLayers(layers, preds, succs);
  const pos = placeNodes(nodes, layers, preds, succs);
  return toResult(nodes, edges, index, pos);
}

function longestPathLayers(count, preds, succs) {
  const layer = new Array(count).fill(0);
  const remaining = preds.map((p) => p.length);
  const queue = [];
  for (let i = 0; i < count; i++) if (remaining[i] === 0) queue.push(i);
  let head = 0;
  while (head < queue.length) {
    const v = queue[head++];
    for (const w of succs[v]) {
      layer[w] = Math.max(layer[w], layer[v] + 1);
      if (--remaining[w] === 0) queue.push(w);
    }
  }
  // Pull sources right next to their first consumer (a weight sits beside its matmul).
  for (let i = 0; i < count; i++) {
    if (preds[i].length === 0 && succs[i].length) layer[i] = Math.max(0, Math.min(...succs[i].map((w) => layer[w])) - 1);
  }
  return layer;
}

function groupByLayer(layer) {
  const layers = [];
  layer.forEach((l, v) => (layers[l] ||= []).push(v));
  return layers.map((l) => l || []);
}

function orderLayers(layers, preds, succs) {
  const position = new Float64Array(preds.length);
  const record = (list) => list.forEach((v, i) => (position[v] = i));
  layers.forEach(record);
  for (let sweep = 0; sweep < SWEEPS; sweep++) {
    const down = sweep % 2 === 0;
    const order = down ? layers.keys() : [...layers.keys()].reverse();
    for (const l of order) {
      const neighbours = down ? preds : succs;
      const key = new Map();
      for (const v of layers[l]) {
        const ns = neighbours[v];
        key.set(v, ns.length ? ns.reduce((sum, w) => sum + position[w], 0) / ns.length : position[v]);
      }
      layers[l].sort((a, b) => key.get(a) - key.get(b));
      record(layers[l]);
    }
  }
}

function placeNodes(nodes, layers, preds, succs) {
  const x = new Float64Array(nodes.length);
  const y = new Float64Array(nodes.length);
  let left = 24;
  for (const list of layers) {
    const width = Math.max(0, ...list.map((v) => nodes[v].width));
    let top = 24;
    for (const v of list) {
      x[v] = left + (width - nodes[v].width) / 2;
      y[v] = top;
      top += nodes[v].height + NODE_GAP;
    }
    left += width + LAYER_GAP;
  }
  for (let pass = 0; pass < 2; pass++) {
    for (const list of layers) alignLayer(list, nodes, y, pass % 2 === 0 ? preds : succs);
  }
  return { x, y };
}

/** Moves each node toward the mean height of its neighbours without overlaps. */
function alignLayer(list, nodes, y, neighbours) {
  const centre = (v) => y[v] + nodes[v].height / 2;
  const wanted = list.map((v) => {
    const ns = neighbours[v];
    return ns.length ? ns.reduce((s, w) => s + centre(w), 0) / ns.length - nodes[v].height / 2 : y[v];
  });
  let floor = 24;
  list.forEach((v, i) => {
    y[v] = Math.max(wanted[i], floor);
    floor = y[v] + nodes[v].height + NODE_GAP;
  });
}

function toResult(nodes, edges, index, { x, y }) {
  const outNodes = {};
  let width = 0;
  let height = 0;
  nodes.forEach((n, v) => {
    outNodes[n.id] = { x: x[v], y: y[v], width: n.width, height: n.height };
    width = Math.max(width, x[v] + n.width);
    height = Math.max(height, y[v] + n.height);
  });
  const outEdges = {};
  for (const e of edges) {
    const s = index.get(e.source);
    const t = index.get(e.target);
    if (s === undefined || t === undefined) continue;
    const start = { x: x[s] + nodes[s].width, y: y[s] + nodes[s].height / 2 };
    const end = { x: x[t], y: y[t] + nodes[t].height / 2 };
    const bend = Math.max(30, (end.x - start.x) / 2);
    outEdges[e.id] = {
      points: [start, { x: start.x + bend, y: start.y }, { x: end.x - bend, y: end.y }, end],
      curve: 'bezier',
    };
  }
  return { nodes: outNodes, edges: outEdges, width: width + 24, height: height + 24 };
}

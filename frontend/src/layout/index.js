// Picks the layout engine by size and returns positions in one shape for the renderer:
// {nodes: {id: {x, y, width, height}}, edges: {id: {points, curve, label?}}, width, height}.
import { elkOptions, runElk } from './elkClient.js';
import { workerUrl } from './workerUrl.js';

/** Above this many nodes ELK cannot meet the time targets: use the fast layered worker. */
export const FAST_LAYOUT_OVER = 150;

let fastWorker = null;
let nextId = 1;
const pending = new Map();

/**
 * @param {{id:string, width:number, height:number}[]} nodes
 * @param {{id:string, source:string, target:string, label?:{text:string, width:number, height:number}}[]} edges
 * @param {{engine?: 'elk'|'fast'|null}} [options] force an engine (measuring); default: by size
 */
export async function layoutGraph(nodes, edges, { engine = null } = {}) {
  const fast = engine ? engine === 'fast' : nodes.length > FAST_LAYOUT_OVER;
  if (fast) return runFast(nodes, edges);
  try {
    return await runElkLayout(nodes, edges);
  } catch (error) {
    console.warn('ELK failed, using the fast layered layout:', error);
    return runFast(nodes, edges);
  }
}

async function runElkLayout(nodes, edges) {
  const elkGraph = {
    id: 'root',
    layoutOptions: elkOptions(nodes.length),
    children: nodes.map(({ id, width, height }) => ({ id, width, height })),
    edges: edges.map((e) => ({
      id: e.id,
      sources: [e.source],
      targets: [e.target],
      labels: e.label ? [{ id: `${e.id}:label`, text: e.label.text, width: e.label.width, height: e.label.height }] : [],
    })),
  };
  const result = await runElk(elkGraph);
  const outNodes = {};
  for (const c of result.children) outNodes[c.id] = { x: c.x, y: c.y, width: c.width, height: c.height };
  const outEdges = {};
  for (const e of result.edges) outEdges[e.id] = elkEdge(e);
  return { nodes: outNodes, edges: outEdges, width: result.width, height: result.height };
}

function elkEdge(edge) {
  const section = edge.sections?.[0];
  const points = section ? [section.startPoint, ...(section.bendPoints || []), section.endPoint] : [];
  const label = edge.labels?.[0];
  const curve = points.length > 2 && (points.length - 1) % 3 === 0 ? 'bezier' : 'smooth';
  return { points, curve, label: label ? { x: label.x, y: label.y, width: label.width, height: label.height } : null };
}

function runFast(nodes, edges) {
  if (!fastWorker) {
    fastWorker = new Worker(workerUrl('fast', 'fast-layout-worker.js'), { type: 'module' });
    fastWorker.onmessage = (event) => {
      const { id, data, error } = event.data;
      const entry = pending.get(id);
      pending.delete(id);
      if (error) entry?.reject(new Error(error));
      else entry?.resolve(data);
    };
  }
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    fastWorker.postMessage({
      id,
      nodes: nodes.map(({ id: nid, width, height }) => ({ id: nid, width, height })),
      edges: edges.map(({ id: eid, source, target }) => ({ id: eid, source, target })),
    });
  });
}

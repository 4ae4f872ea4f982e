// Picks the layout engine by size and returns positions in one shape for the renderer:
// {nodes: {id: {x, y, width, height}}, edges: {id: {points, curve, label?}}, width, height}.
import { WORKER_START_MS, elkOptions, runElk } from './elkClient.js';
import { fastLayered } from './fastLayered.js';
import { workerUrl } from './workerUrl.js';

/** Above this many nodes ELK cannot meet the time targets: use the fast layered worker. */
export const FAST_LAYOUT_OVER = 150;

/** @type {{worker: Worker, started: Promise<void>}|null} */
let fastWorker = null;
/** The page may not start workers (a file:// page, a sandboxed frame): stop trying. */
let workersFail = false;
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
    if (error?.name === 'WorkerStartError') workersFail = true; // the fast worker would not start either
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

/**
 * The fast layered layout, in a worker when the page can start one, else on the page itself
 * (a file:// page has origin null, and some browsers refuse it workers): slower to the eye
 * for a moment, but drawn. An error in the layout itself still reaches the caller.
 */
async function runFast(nodes, edges) {
  const input = {
    nodes: nodes.map(({ id: nid, width, height }) => ({ id: nid, width, height })),
    edges: edges.map(({ id: eid, source, target }) => ({ id: eid, source, target })),
  };
  if (!workersFail) {
    try {
      return await inWorker(input);
    } catch (error) {
      console.warn('The layout worker did not run; laying out on the page:', error);
      workersFail = true;
      dropWorker(error);
    }
  }
  return fastLayered(input.nodes, input.edges);
}

async function inWorker(input) {
  const { worker, started } = startWorker();
  await started;
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    worker.postMessage({ id, ...input });
  });
}

/** The worker, started once; `started` settles when it says it runs, fails or stays silent. */
function startWorker() {
  if (fastWorker) return fastWorker;
  // Classic, not module: the bundle has no imports, and module workers are refused more often.
  const worker = new Worker(workerUrl('fast', 'fast-layout-worker.js'));
  let ready;
  let failed;
  const started = new Promise((resolve, reject) => {
    ready = resolve;
    failed = reject;
  });
  const timer = setTimeout(() => failed(new Error('layout worker did not start')), WORKER_START_MS);
  worker.onmessage = (event) => {
    const { id, data, error, ready: isReady } = event.data;
    if (isReady) {
      clearTimeout(timer);
      ready();
      return;
    }
    const entry = pending.get(id);
    pending.delete(id);
    if (error) entry?.reject(new Error(error));
    else entry?.resolve(data);
  };
  worker.onerror = (event) => {
    event.preventDefault?.();
    clearTimeout(timer);
    const error = new Error(event.message || 'layout worker failed');
    failed(error);
    dropWorker(error);
  };
  worker.onmessageerror = worker.onerror;
  fastWorker = { worker, started };
  return fastWorker;
}

function dropWorker(error) {
  fastWorker?.worker.terminate();
  fastWorker = null;
  for (const entry of pending.values()) entry.reject(error);
  pending.clear();
}

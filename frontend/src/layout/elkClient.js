// ELK layered layout in one reused classic Web Worker (elkjs has no ES-module build).
import { workerUrl } from './workerUrl.js';

let worker = null;
let nextId = 1;
const pending = new Map();

function getWorker() {
  if (worker) return worker;
  worker = new Worker(workerUrl('elk', 'elk-worker.min.js'));
  worker.onmessage = (event) => {
    const { id, data, error } = event.data;
    const entry = pending.get(id);
    if (!entry) return;
    pending.delete(id);
    if (error) entry.reject(new Error(error.message || String(error)));
    else entry.resolve(data);
  };
  worker.onerror = (event) => {
    for (const entry of pending.values()) entry.reject(new Error(event.message || 'ELK worker failed'));
    pending.clear();
    worker.terminate();
    worker = null;
  };
  // elk-api.js does this on start: the worker knows no algorithm until told.
  worker.postMessage({ id: 0, cmd: 'register', algorithms: ['layered'] });
  return worker;
}

/** Starts the worker early so the first layout does not pay for loading 1.6 MB. */
export function warmUpElk() {
  getWorker();
}

/** @param {object} elkGraph ELK JSON graph @returns {Promise<object>} the graph with positions */
export function runElk(elkGraph) {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    getWorker().postMessage({ id, cmd: 'layout', graph: elkGraph });
  });
}

/** Options by graph size: quality (spline edges) for teaching sizes, faster ones above. */
export function elkOptions(nodeCount) {
  const common = {
    'elk.algorithm': 'layered',
    'elk.direction': 'RIGHT',
    'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',
    'elk.spacing.nodeNode': '28',
    'elk.layered.spacing.nodeNodeBetweenLayers': '56',
    'elk.layered.spacing.edgeNodeBetweenLayers': '18',
    'elk.spacing.edgeLabel': '4',
    'elk.spacing.edgeNode': '14',
    'elk.padding': '[top=24,left=24,bottom=24,right=24]',
  };
  if (nodeCount <= 150) {
    return { ...common, 'elk.edgeRouting': 'SPLINES', 'elk.layered.edgeLabels.sideSelection': 'SMART_UP' };
  }
  return {
    ...common,
    'elk.edgeRouting': 'POLYLINE',
    'elk.layered.thoroughness': '1',
    'elk.layered.nodePlacement.strategy': 'SIMPLE',
    'elk.layered.crossingMinimization.greedySwitch.type': 'OFF',
  };
}

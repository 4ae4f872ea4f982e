// ELK layered layout in one reused classic Web Worker (elkjs has no ES-module build).
import { workerUrl } from './workerUrl.js';

/**
 * A new worker answers its first message within this long, or the page lays out without
 * workers (some pages may not run them and say nothing). Generous: ELK parses 1.6 MB first.
 */
export const WORKER_START_MS = 10000;

let worker = null;
/** This page would not run the worker: stop asking. */
let refused = false;
let nextId = 1;
const pending = new Map();

/** A layout worker that would not start (refused by the page, or silent): lay out on the page. */
export class WorkerStartError extends Error {
  constructor(message) {
    super(message);
    this.name = 'WorkerStartError';
  }
}

function getWorker() {
  if (worker) return worker;
  if (refused) throw new WorkerStartError('this page runs no ELK worker');
  const current = new Worker(workerUrl('elk', 'elk-worker.min.js'));
  worker = current;
  let running = false;
  const timer = setTimeout(() => stop(new WorkerStartError('the ELK worker did not start')), WORKER_START_MS);
  const stop = (error) => {
    clearTimeout(timer);
    if (error instanceof WorkerStartError) refused = true;
    for (const entry of pending.values()) entry.reject(error);
    pending.clear();
    current.terminate();
    if (worker === current) worker = null;
  };
  current.onmessage = (event) => {
    const { id, data, error } = event.data;
    if (id === 0) {
      running = true; // from now on, only its errors stop it
      clearTimeout(timer);
      return;
    }
    const entry = pending.get(id);
    if (!entry) return;
    pending.delete(id);
    if (error) entry.reject(new Error(error.message || String(error)));
    else entry.resolve(data);
  };
  current.onerror = (event) => {
    event.preventDefault?.();
    const message = event.message || 'ELK worker failed';
    stop(running ? new Error(message) : new WorkerStartError(message));
  };
  // elk-api.js does this on start: the worker knows no algorithm until told (it answers id 0).
  current.postMessage({ id: 0, cmd: 'register', algorithms: ['layered'] });
  return current;
}

/** Starts the worker early so the first layout does not pay for loading 1.6 MB. */
export function warmUpElk() {
  try {
    getWorker();
  } catch (error) {
    console.warn('No ELK worker on this page:', error);
  }
}

/** @param {object} elkGraph ELK JSON graph @returns {Promise<object>} the graph with positions */
export function runElk(elkGraph) {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    let target;
    try {
      target = getWorker();
    } catch (error) {
      refused = true;
      reject(error instanceof WorkerStartError ? error : new WorkerStartError(String(error?.message || error)));
      return;
    }
    pending.set(id, { resolve, reject });
    target.postMessage({ id, cmd: 'layout', graph: elkGraph });
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

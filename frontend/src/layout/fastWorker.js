// Worker entry for the fast layered layout: keeps big layouts off the main thread.
import { fastLayered } from './fastLayered.js';

// Tells the page it started: a worker refused by the page's origin may never say anything.
self.postMessage({ ready: true });

self.onmessage = (event) => {
  const { id, nodes, edges } = event.data;
  try {
    self.postMessage({ id, data: fastLayered(nodes, edges) });
  } catch (error) {
    self.postMessage({ id, error: String(error?.stack || error) });
  }
};

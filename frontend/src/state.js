// Everything a link can restore, and its round trip through the URL.
//
// Plain form:   /?code=<percent-encoded>&device=cpu&lang=ko&step=5
// Compact form: /?z=<deflate-raw, base64url>&... (used for long programs)
// Prepared demo: /?example=<id>&present=1

/**
 * @typedef {object} AppState
 * @property {string} code
 * @property {string|null} example   curriculum example id the code came from
 * @property {string} device
 * @property {'en'|'ko'} lang
 * @property {number} step
 * @property {'tensor'|'raw'} view
 * @property {boolean} collapse      modules collapsed into one node each
 * @property {boolean} present       presenter mode
 * @property {'light'|'dark'} theme
 * @property {number} speed         animation speed (0.5, 1, 2, 4)
 */

/** @type {AppState} */
export const DEFAULT_STATE = Object.freeze({
  code: '',
  example: null,
  device: 'cpu',
  lang: 'en',
  step: 0,
  view: 'tensor',
  collapse: false,
  present: false,
  theme: 'light',
  speed: 1,
});

const SPEEDS = [0.5, 1, 2, 4];

const COMPACT_OVER = 1200;

/** @type {AppState} */
let state = { ...DEFAULT_STATE };
const listeners = new Set();

export function getState() {
  return state;
}

/** Merges a change into the state and tells the listeners which keys changed. */
export function setState(patch) {
  const changed = Object.keys(patch).filter((key) => state[key] !== patch[key]);
  if (!changed.length) return;
  state = { ...state, ...patch };
  for (const listener of listeners) listener(state, changed);
}

/** @param {(state: AppState, changed: string[]) => void} listener */
export function subscribe(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/**
 * Reads a state from a query string. Returns only what the link sets.
 * @param {string} search e.g. location.search
 * @returns {Promise<Partial<AppState>>}
 */
export async function stateFromSearch(search) {
  const params = new URLSearchParams(search);
  /** @type {Partial<AppState>} */
  const out = {};
  if (params.has('z')) out.code = await inflate(params.get('z'));
  else if (params.has('code')) out.code = params.get('code');
  if (params.has('example')) out.example = params.get('example');
  if (params.has('device')) out.device = params.get('device');
  if (params.has('lang')) out.lang = params.get('lang') === 'ko' ? 'ko' : 'en';
  if (params.has('step')) out.step = Math.max(0, parseInt(params.get('step'), 10) || 0);
  if (params.has('view')) out.view = params.get('view') === 'raw' ? 'raw' : 'tensor';
  if (params.has('collapse')) out.collapse = isOn(params.get('collapse'));
  if (params.has('present')) out.present = isOn(params.get('present'));
  if (params.has('theme')) out.theme = params.get('theme') === 'dark' ? 'dark' : 'light';
  if (params.has('speed') && SPEEDS.includes(Number(params.get('speed')))) out.speed = Number(params.get('speed'));
  if (params.has('zoom')) out.zoom = parseZoom(params.get('zoom'));
  return out;
}

/**
 * A query string for the state; the program goes in as text, or compressed when long.
 * With an example id and the example's own code, only the id is written; `zoom` is the
 * user's own view, when they chose one.
 * @param {AppState} s @param {{exampleSource?: string, zoom?: {k:number, cx:number, cy:number}|null}} [opts]
 */
export async function searchFromState(s, opts = {}) {
  const params = new URLSearchParams();
  if (s.example && opts.exampleSource === s.code) params.set('example', s.example);
  else if (s.code.length > COMPACT_OVER) params.set('z', await deflate(s.code));
  else if (s.code) params.set('code', s.code);
  params.set('device', s.device);
  params.set('lang', s.lang);
  params.set('step', String(s.step));
  if (s.view !== DEFAULT_STATE.view) params.set('view', s.view);
  if (s.collapse) params.set('collapse', '1');
  if (s.present) params.set('present', '1');
  if (s.theme !== DEFAULT_STATE.theme) params.set('theme', s.theme);
  if (s.speed !== DEFAULT_STATE.speed) params.set('speed', String(s.speed));
  const zoom = opts.zoom ?? null;
  if (zoom) params.set('zoom', [zoom.k.toFixed(3), Math.round(zoom.cx), Math.round(zoom.cy)].join(','));
  return `?${params.toString().replace(/\+/g, '%20')}`;
}

/** `zoom=k,cx,cy`: a scale and the graph point at the centre of the view. */
function parseZoom(text) {
  const [k, cx, cy] = String(text).split(',').map(Number);
  return Number.isFinite(k) && k > 0 && Number.isFinite(cx) && Number.isFinite(cy) ? { k, cx, cy } : null;
}

function isOn(value) {
  return value === '1' || value === 'true' || value === '';
}

async function deflate(text) {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream('deflate-raw'));
  const bytes = new Uint8Array(await new Response(stream).arrayBuffer());
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

async function inflate(encoded) {
  try {
    const binary = atob(encoded.replace(/-/g, '+').replace(/_/g, '/'));
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('deflate-raw'));
    return await new Response(stream).text();
  } catch {
    return '';
  }
}

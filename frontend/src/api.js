// Fetch wrappers for the gradtrace API, with typed errors.

/** An error the API reported about the user's program (HTTP 400). */
export class ProgramError extends Error {
  /** @param {{type:string, code:string, message:string, hint?:string, line?:number, col?:number, end_line?:number, end_col?:number, lang?:string, messages?:object}} detail */
  constructor(detail) {
    super(detail.message || detail.code || 'error');
    this.name = 'ProgramError';
    this.type = detail.type;
    this.code = detail.code;
    this.hint = detail.hint || '';
    this.line = detail.line ?? null;
    this.col = detail.col ?? null;
    this.endLine = detail.end_line ?? null;
    this.endCol = detail.end_col ?? null;
    /** Both languages' text ({en: {message, hint}, ko: {...}}), when the server sends them. */
    this.messages = detail.messages ?? null;
  }

  /** The message and hint in a language, falling back to the text the server picked. */
  textIn(lang) {
    const text = this.messages?.[lang];
    return text ? { message: text.message || this.message, hint: text.hint || '' } : { message: this.message, hint: this.hint };
  }
}

/**
 * The server is overloaded (503), or this computer sent too much (429); retryAfter is in
 * seconds, code the server's (e.g. service_rate_limited, service_client_busy).
 */
export class BusyError extends Error {
  constructor(retryAfter, code = null) {
    super('busy');
    this.name = 'BusyError';
    this.retryAfter = retryAfter;
    this.code = code;
  }

  /** True when the cause is this computer's own requests, not the server's load. */
  get fromThisComputer() {
    return this.code === 'service_rate_limited' || this.code === 'service_client_busy';
  }
}

/** The request was malformed (422) or the server failed in an unexpected way. */
export class RequestError extends Error {
  constructor(status, message) {
    super(message);
    this.name = 'RequestError';
    this.status = status;
  }
}

/** The server could not be reached at all. */
export class NetworkError extends Error {
  constructor(cause) {
    super(String(cause?.message || cause));
    this.name = 'NetworkError';
  }
}

async function request(path, init = {}) {
  let response;
  try {
    response = await fetch(path, { ...init, headers: { Accept: 'application/json', ...init.headers } });
  } catch (cause) {
    throw new NetworkError(cause);
  }
  if (response.ok) return response;
  const body = await response.json().catch(() => null);
  if (response.status === 429 || response.status === 503) {
    throw new BusyError(Number(response.headers.get('Retry-After')) || 5, body?.error?.code ?? null);
  }
  if (response.status === 400 && body?.error) throw new ProgramError(body.error);
  const message = body?.error?.message || JSON.stringify(body?.detail ?? body ?? response.statusText);
  throw new RequestError(response.status, message);
}

function postJson(path, body) {
  return request(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
}

/**
 * @typedef {{source:string, device?:string, output?:string, backward?:boolean, seed?:number, lang?:string}} GraphRequest
 */

/** @param {GraphRequest} body @returns {Promise<object>} the graph JSON */
export async function fetchGraph(body) {
  const response = await postJson('/api/graph', cleanRequest(body));
  return response.json();
}

/** @param {GraphRequest} body @param {'json'|'dot'|'graphml'|'node-link'} format @returns {Promise<Blob>} */
export async function fetchExport(body, format) {
  const response = await postJson(`/api/export?format=${encodeURIComponent(format)}`, cleanRequest(body));
  return response.blob();
}

/** @returns {Promise<{devices: {id:string, name:string}[], defaultId:string}>} */
export async function fetchDevices() {
  const body = await (await request('/api/devices')).json();
  const list = Array.isArray(body) ? body : body.devices || [];
  const devices = list.map((d) => (typeof d === 'string' ? { id: d, name: d } : { ...d, id: d.id ?? d.name }));
  return { devices, defaultId: body.default || devices[0]?.id || 'cpu' };
}

/** @returns {Promise<object[]>} the curriculum examples */
export async function fetchExamples() {
  const body = await (await request('/api/examples')).json();
  return Array.isArray(body) ? body : body.examples || [];
}

function cleanRequest(body) {
  const out = { source: body.source, device: body.device || 'cpu', backward: body.backward ?? true, lang: body.lang || 'en' };
  if (body.output) out.output = body.output;
  if (Number.isInteger(body.seed)) out.seed = body.seed;
  return out;
}

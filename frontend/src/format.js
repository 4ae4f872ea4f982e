// Turning numbers and tensor summaries into short, readable text.

const SPECIAL = { NaN: 'nan', Infinity: '∞', '-Infinity': '-∞' };

/** @param {unknown} value a JSON number, bool, null, or "NaN"/"Infinity" @param {number} [digits] */
export function formatNumber(value, digits = 4) {
  if (value === null || value === undefined) return '–';
  if (typeof value === 'string') return SPECIAL[value] ?? value;
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (Number.isInteger(value)) return String(value);
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e5)) return value.toExponential(2);
  return String(Number(value.toPrecision(digits)));
}

/** @param {{shape:number[]}} summary */
export function isScalar(summary) {
  return summary != null && summary.shape.length === 0;
}

/** The single number in a summary of one element, else undefined. */
export function scalarOf(summary) {
  if (!summary || summary.numel !== 1) return undefined;
  let data = summary.data ?? summary.head?.[0];
  while (Array.isArray(data)) data = data[0];
  return data;
}

/** @param {number[]} shape */
export function formatShape(shape) {
  return shape.length === 0 ? 'scalar' : `[${shape.join(', ')}]`;
}

/** @param {string} dtype e.g. "torch.float32" */
export function shortDtype(dtype) {
  return String(dtype || '').replace(/^torch\./, '');
}

/**
 * Short one-line text of a summary's values, for narration and small labels: a small tensor
 * by its values, a large one by its shape, saying "shape" so it does not read as a value.
 */
export function summaryText(summary, maxItems = 8) {
  if (!summary) return '–';
  const single = scalarOf(summary);
  if (single !== undefined) return formatNumber(single);
  const hasData = summary.data !== null && summary.data !== undefined;
  if (hasData && summary.shape.length === 1 && summary.numel <= maxItems) {
    return `[${flatValues(summary).map((v) => formatNumber(v, 3)).join(', ')}]`;
  }
  if (hasData && summary.shape.length === 2 && summary.numel <= 4) {
    return `[${summary.data.map((row) => `[${row.map((v) => formatNumber(v, 3)).join(', ')}]`).join(', ')}]`;
  }
  const values = hasData ? flatValues(summary).map(toNumber) : [];
  const mean = summary.stats?.mean ?? (values.length && values.every(Number.isFinite) ? values.reduce((a, b) => a + b, 0) / values.length : null);
  return `shape ${formatShape(summary.shape)}${mean === null ? '' : ` μ=${formatNumber(mean, 3)}`}`;
}

/** All values we have, flattened (full data, or the head). */
export function flatValues(summary) {
  if (!summary) return [];
  if (summary.data !== null && summary.data !== undefined) return [summary.data].flat(Infinity);
  return summary.head || [];
}

/** Numeric value for colour scales: strings (NaN/inf) and null become NaN. */
export function toNumber(value) {
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value === 'Infinity') return Infinity;
  if (value === '-Infinity') return -Infinity;
  return NaN;
}

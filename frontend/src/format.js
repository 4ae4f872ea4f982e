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

/** Short one-line text of a summary's values, for narration and small labels. */
export function summaryText(summary, maxItems = 6) {
  if (!summary) return '–';
  const single = scalarOf(summary);
  if (single !== undefined) return formatNumber(single);
  const flat = flatValues(summary);
  if (flat.length && summary.shape.length === 1 && summary.numel <= maxItems) {
    return `[${flat.map((v) => formatNumber(v, 3)).join(', ')}]`;
  }
  if (summary.stats) return `${formatShape(summary.shape)} μ=${formatNumber(summary.stats.mean, 3)}`;
  return formatShape(summary.shape);
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

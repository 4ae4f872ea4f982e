// The colour scale under a heatmap: the part of the diverging ramp its cells use, labelled.
import { formatNumber } from '../format.js';
import { t } from '../i18n.js';
import { divergingColour } from '../render/nodeContent.js';

const RAMP_STEPS = 128;
/** A zero label this close (in % of the ramp) to an end would cover that end's number. */
const ZERO_LABEL_MARGIN = 14;

/**
 * The numbers a heatmap's colours come from: a cell v is divergingColour(v / limit), so -limit is
 * full blue, 0 white and +limit full orange; min and max are the finite cells' extremes.
 * @param {number[]} values the finite cell values
 */
export function heatmapScale(values) {
  if (!values.length) return null;
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min, max, limit: Math.max(1e-12, Math.abs(min), Math.abs(max)) };
}

/**
 * The legend: a ramp from the smallest cell's colour to the largest's, the two numbers under its
 * ends and a tick at 0 when the cells have both signs, with the same as text for screen readers.
 * @param {{min:number, max:number, limit:number}} scale
 */
export function heatmapLegend(scale) {
  const { min, max } = scale;
  const legend = document.createElement('div');
  legend.className = 'heatmap-legend';
  legend.setAttribute('role', 'img');
  legend.setAttribute('aria-label', t('heatmapScale', { min: formatNumber(min), max: formatNumber(max) }));
  const ramp = rampCanvas(scale);
  const labels = document.createElement('div');
  labels.className = 'heatmap-legend-labels';
  labels.setAttribute('aria-hidden', 'true');
  labels.append(label(formatNumber(min), 'heatmap-legend-min'));
  if (max !== min) labels.append(label(formatNumber(max), 'heatmap-legend-max'));
  legend.append(ramp, labels);
  if (min < 0 && max > 0) {
    const at = (100 * -min) / (max - min);
    const tick = document.createElement('span');
    tick.className = 'heatmap-legend-zero-tick';
    tick.style.left = `${at}%`;
    legend.append(tick);
    if (at > ZERO_LABEL_MARGIN && at < 100 - ZERO_LABEL_MARGIN) {
      const zero = label('0', 'heatmap-legend-zero');
      zero.style.left = `${at}%`;
      labels.append(zero);
    }
  }
  return legend;
}

/** The ramp drawn with the heatmap's own colour function, one column per step from min to max. */
function rampCanvas({ min, max, limit }) {
  const canvas = document.createElement('canvas');
  canvas.className = 'heatmap-legend-ramp';
  canvas.width = RAMP_STEPS;
  canvas.height = 1;
  canvas.setAttribute('aria-hidden', 'true');
  const ctx = canvas.getContext('2d');
  for (let x = 0; x < RAMP_STEPS; x += 1) {
    const v = max === min ? min : min + ((max - min) * x) / (RAMP_STEPS - 1);
    ctx.fillStyle = divergingColour(v / limit);
    ctx.fillRect(x, 0, 1, 1);
  }
  return canvas;
}

function label(text, className) {
  const span = document.createElement('span');
  span.className = className;
  span.textContent = text;
  return span;
}

// What a node shows and how big it is: SVG markup for tensor, op and module nodes.
// Sizes are in graph units; the camera decides pixels.
import { flatValues, formatNumber, formatShape, shortDtype, toNumber } from '../format.js';
import { t } from '../i18n.js';

export const FONT = { title: 22, meta: 16, value: 22, cell: 17, small: 16, op: 20 };
const PAD = 12;
const CELL_H = 26;
const HEAT_W = 132;
const HEAT_H = 88;
const HEAT_STRIP_H = 28;
/** The colour scale under a heatmap: a bar from −limit (blue) through 0 (white) to +limit (vermillion). */
const SCALE_H = 14;
const CHAR = 0.6; // average glyph width per font size unit (sizing boxes: generous)
/** A name's measured width per font unit in the UI font (bold, mostly lower case): how far a label may grow. */
const FIT_CHAR = 0.55;
/** Full detail: a name may grow this much over its base size to stay readable on screen. */
const FULL_GROWTH = 1.6;
/** Names only: an op's name may spill this far (graph units) into the gap beside its pill. */
const OP_SPILL = 80;

/** Escapes text for SVG markup. */
export function esc(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

function textWidth(text, size) {
  return String(text).length * size * CHAR;
}

/** Picks how a summary is shown: one number, a small table, a heatmap, or statistics. */
export function valueShape(summary) {
  if (!summary) return { type: 'none' };
  const { shape, numel } = summary;
  const hasData = summary.data !== null && summary.data !== undefined;
  if (numel === 1 && (hasData || summary.head)) return { type: 'scalar', text: formatNumber(flatValues(summary)[0]) };
  if (hasData && shape.length === 1 && numel <= 6) return table([summary.data]);
  if (hasData && shape.length === 2 && shape[0] <= 4 && shape[1] <= 4) return table(summary.data);
  if (shape.length === 2 && (summary.grid || hasData)) {
    const data = summary.grid ? summary.grid.data : summary.data;
    return withCaption({ type: 'heatmap', data, rows: data.length, cols: data[0]?.length || 0, stats: summary.stats });
  }
  if (shape.length === 1 && hasData && numel <= 64) {
    return withCaption({ type: 'heatmap', data: [summary.data], rows: 1, cols: numel, stats: summary.stats, strip: true });
  }
  return { type: 'stats', lines: statsLines(summary) };
}

/** The heatmap's colour limit and caption (±limit, mean). */
function withCaption(shape) {
  const values = shape.data.flat().map(toNumber).filter(Number.isFinite);
  shape.limit = Math.max(1e-12, ...values.map(Math.abs));
  shape.caption = shape.stats ? `±${formatNumber(shape.limit, 3)} μ=${formatNumber(shape.stats.mean, 3)}` : `±${formatNumber(shape.limit, 3)}`;
  return shape;
}

function statsLines(summary) {
  const s = summary.stats;
  if (s) return [`min ${formatNumber(s.min, 3)}  max ${formatNumber(s.max, 3)}`, `μ ${formatNumber(s.mean, 3)}  σ ${formatNumber(s.std, 3)}`];
  return [`${flatValues(summary).slice(0, 3).map((v) => formatNumber(v, 3)).join(', ')} …`];
}

function table(rows) {
  const texts = rows.map((row) => row.map((v) => formatNumber(v, 3)));
  const longest = Math.max(1, ...texts.flat().map((s) => s.length));
  return { type: 'table', texts, cellW: longest * FONT.cell * CHAR + 14 };
}

function blockSize(shape) {
  switch (shape.type) {
    case 'scalar': return { w: textWidth(shape.text, FONT.value), h: 30 };
    case 'table': return { w: shape.texts[0].length * shape.cellW, h: shape.texts.length * CELL_H + 4 };
    case 'heatmap': return { w: Math.max(HEAT_W, textWidth(shape.caption, FONT.small)), h: (shape.strip ? HEAT_STRIP_H : HEAT_H) + SCALE_H + 22 };
    case 'stats': return { w: Math.max(...shape.lines.map((line) => textWidth(line, FONT.small))), h: 22 * shape.lines.length };
    default: return { w: 0, h: 0 };
  }
}

/**
 * Layout of a tensor node's content.
 * @param {object} node graph JSON tensor @param {object|null} grad its gradient summary
 * @param {{compact?: boolean, name: string}} options
 */
export function tensorBox(node, grad, { compact = false, name }) {
  const meta = `${formatShape(node.shape)} · ${shortDtype(node.dtype)}`;
  if (compact) return { width: Math.max(110, textWidth(name, FONT.title) + 2 * PAD), height: 64, meta, compact };
  const sized = tensorFullBox(node, grad, name, meta);
  return { ...sized, fits: tensorFits(name, sized, badgeOf(node) !== '') };
}

/**
 * The largest font (graph units) each of a tensor's name labels may take inside its box:
 * `title` at full detail (beside the badge, above the shape), `name` when the node shows
 * only its name (centred, on up to two lines).
 */
function tensorFits(name, box, badge) {
  const room = box.width - 2 * PAD - (badge ? 34 : 0);
  const title = Math.min(FONT.title * FULL_GROWTH, room / (String(name).length * FIT_CHAR));
  const lines = nameLines(name);
  const longest = Math.max(...lines.map((line) => line.length));
  // Alone, a name may reach the box's edges and spill a little beside it (on a halo).
  const name2 = Math.min((box.width + OP_SPILL / 2) / (longest * FIT_CHAR), box.height / (1.15 * lines.length));
  return { title: round1(Math.max(FONT.title, title)), name: round1(Math.max(FONT.title, name2)), lines };
}

/** A long dotted or underscored name splits in two near its middle (model.0.weight → model.0. / weight). */
export function nameLines(name) {
  const text = String(name);
  if (text.length < 7) return [text];
  let best = -1;
  for (let i = 1; i < text.length - 1; i += 1) {
    if ('._ '.includes(text[i - 1]) && Math.abs(i - text.length / 2) < Math.abs(best - text.length / 2)) best = i;
  }
  return best > 0 ? [text.slice(0, best), text.slice(best)] : [text];
}

function round1(v) {
  return Math.round(v * 10) / 10;
}

function tensorFullBox(node, grad, name, meta) {
  const value = valueShape(node.value);
  // Several gradients (one per backward pass): the box fits the biggest, the first is drawn.
  const grads = (Array.isArray(grad) ? grad : [grad]).filter(Boolean);
  const gradShapes = grads.map(valueShape);
  const gradShape = gradShapes[0] ?? null;
  const valueSize = blockSize(value);
  const gradSizes = gradShapes.map(blockSize);
  const gradSize = gradSizes.length ? { w: Math.max(...gradSizes.map((s) => s.w)), h: Math.max(...gradSizes.map((s) => s.h)) } : { w: 0, h: 0 };
  const gradHeight = gradShape ? Math.max(gradSize.h, 28) + 10 : 0;
  const width = Math.max(150, textWidth(name, FONT.title) * 1.08 + 2 * PAD + 34, textWidth(meta, FONT.meta) + 2 * PAD, valueSize.w + 2 * PAD, gradSize.w + 60);
  const height = PAD + 28 + 22 + 6 + valueSize.h + gradHeight + PAD;
  return { width: Math.ceil(width), height: Math.ceil(height), meta, value, valueSize, gradShape, compact: false };
}

/** Markup of a tensor node's inside (position set by the caller). */
export function tensorMarkup(node, box, name) {
  const w = box.width;
  const h = box.height;
  let out = `<title>${esc(name)}</title><rect class="box" width="${w}" height="${h}" rx="10"/>`;
  if (box.compact) return out; // big graphs: text comes from the viewport's label layer
  out += `<text class="t-title" x="${PAD}" y="${PAD + 21}" style="--fit:${box.fits.title}">${esc(name)}</text>`;
  out += nameMarkup(box, w, h);
  out += roleBadge(node, w);
  out += `<text class="t-meta" x="${PAD}" y="${PAD + 46}">${esc(box.meta)}</text>`;
  let y = PAD + 28 + 22 + 6;
  out += `<g class="value-block" transform="translate(${PAD},${y})">${blockMarkup(box.value, 'value')}</g>`;
  out += `<text class="pending-mark" x="${w / 2}" y="${y + 22}" text-anchor="middle">?</text>`;
  y += box.valueSize.h;
  if (box.gradShape) {
    y += 6;
    out += `<line class="grad-rule" x1="8" x2="${w - 8}" y1="${y}" y2="${y}"/>`;
    out += `<text class="t-grad-label" x="${PAD}" y="${y + 23}">∇</text>`;
    out += `<g class="grad-block" transform="translate(${PAD + 26},${y + 4})">${blockMarkup(box.gradShape, 'grad')}</g>`;
    out += `<text class="grad-placeholder" x="${PAD + 26}" y="${y + 23}">…</text>`;
  }
  return out;
}

/** The name alone, centred: what the node shows when its details would be too small to read. */
function nameMarkup(box, w, h) {
  const { lines, name } = box.fits;
  const tspans = lines.map((line, i) => `<tspan x="${w / 2}" dy="${i ? '1.15em' : `${(-0.575 * (lines.length - 1)).toFixed(3)}em`}">${esc(line)}</tspan>`).join('');
  return `<text class="t-name" x="${w / 2}" y="${h / 2}" text-anchor="middle" dominant-baseline="central" style="--fit:${name}">${tspans}</text>`;
}

function badgeOf(node) {
  if (node.detached) return '✂';
  return { leaf: '◆', param: '■', constant: '○', output: '★', intermediate: '' }[node.role] ?? '';
}

function roleBadge(node, width) {
  const symbol = badgeOf(node);
  return symbol ? `<text class="t-badge" x="${width - PAD}" y="${PAD + 20}" text-anchor="end">${symbol}</text>` : '';
}

/** The inside of a tensor node's gradient block for a gradient summary. */
export function gradBlockMarkup(summary) {
  return summary ? blockMarkup(valueShape(summary), 'grad') : '';
}

function blockMarkup(shape, cls) {
  switch (shape.type) {
    case 'scalar': return `<text class="t-${cls}" y="23">${esc(shape.text)}</text>`;
    case 'table': return tableMarkup(shape, cls);
    case 'heatmap': return heatmapMarkup(shape, cls);
    case 'stats': return statsMarkup(shape, cls);
    default: return '';
  }
}

function tableMarkup(shape, cls) {
  let out = '';
  shape.texts.forEach((row, r) => {
    row.forEach((text, c) => {
      const x = c * shape.cellW;
      const y = r * CELL_H;
      out += `<rect class="cell" x="${x}" y="${y}" width="${shape.cellW - 2}" height="${CELL_H - 2}" rx="3"/>`;
      out += `<text class="t-cell t-${cls}" x="${x + shape.cellW / 2 - 1}" y="${y + 18}" text-anchor="middle">${esc(text)}</text>`;
    });
  });
  return out;
}

function heatmapMarkup(shape, cls) {
  const limit = shape.limit;
  const height = shape.strip ? HEAT_STRIP_H : HEAT_H;
  const cw = HEAT_W / Math.max(1, shape.cols);
  const ch = height / Math.max(1, shape.rows);
  let out = '';
  shape.data.forEach((row, r) => {
    row.forEach((v, c) => {
      out += `<rect x="${(c * cw).toFixed(2)}" y="${(r * ch).toFixed(2)}" width="${(cw + 0.3).toFixed(2)}" height="${(ch + 0.3).toFixed(2)}" fill="${divergingColour(toNumber(v) / limit)}"/>`;
    });
  });
  out += `<rect class="heat-frame" width="${HEAT_W}" height="${height}"/>`;
  out += scaleMarkup(height + 4);
  out += `<text class="t-small t-${cls}" y="${height + SCALE_H + 17}">${esc(shape.caption)}</text>`;
  return out;
}

/** The heatmap's colour scale: − and + at the ends of the diverging bar (the caption gives ±limit). */
function scaleMarkup(y) {
  return `<text class="t-scale" x="0" y="${y + 10}">−</text>`
    + `<rect class="heat-scale" x="14" y="${y + 1}" width="${HEAT_W - 28}" height="8" fill="url(#heat-scale)"/>`
    + `<text class="t-scale" x="${HEAT_W}" y="${y + 10}" text-anchor="end">+</text>`;
}

/** Stops of the diverging colour scale, for a <linearGradient>. */
export function scaleStops() {
  return [-1, -0.5, 0, 0.5, 1].map((v) => `<stop offset="${(v + 1) * 50}%" stop-color="${divergingColour(v)}"/>`).join('');
}

function statsMarkup(shape, cls) {
  return shape.lines.map((line, i) => `<text class="t-small t-${cls}" y="${18 + 22 * i}">${esc(line)}</text>`).join('');
}

/** Blue (negative) – white – vermillion (positive), readable with colour-blindness. */
export function divergingColour(x) {
  if (!Number.isFinite(x)) return '#999999';
  const a = Math.min(1, Math.abs(x));
  const [r, g, b] = x < 0 ? [0, 114, 178] : [213, 94, 0];
  const mix = (c) => Math.round(255 + (c - 255) * a);
  return `rgb(${mix(r)},${mix(g)},${mix(b)})`;
}

/** Size and markup of an op node (a pill with the readable name). */
export function opBox(op, label) {
  const width = Math.ceil(Math.max(76, textWidth(label, FONT.op) + 36));
  const height = 46;
  const fit = (room) => round1(Math.max(FONT.op, Math.min(room / (String(label).length * FIT_CHAR), height * 1.1)));
  return { width, height, fits: { full: fit(width - 10), name: fit(width + OP_SPILL) } };
}

export function opMarkup(op, box, label, compact = false) {
  // Big graphs: the label comes from the viewport layer; zoomed out, the dot names itself on hover.
  if (compact) return `<title>${esc(label)}</title><rect class="box" width="${box.width}" height="${box.height}" rx="${box.height / 2}"/>`;
  const tip = op.op + (op.module ? ` · ${op.module}` : '');
  return `<title>${esc(tip)}</title><rect class="box" width="${box.width}" height="${box.height}" rx="${box.height / 2}"/>`
    + `<text class="t-op" x="${box.width / 2}" y="${box.height / 2}" text-anchor="middle" dominant-baseline="central" style="--fit:${box.fits.full};--fit-name:${box.fits.name}">${esc(label)}</text>`;
}

export function groupBox(group) {
  return { width: Math.ceil(Math.max(170, textWidth(group.module, FONT.title) + 40)), height: 80 };
}

export function groupMarkup(group, box) {
  return `<title>${esc(t('openModule'))}</title><rect class="box" width="${box.width}" height="${box.height}" rx="12"/>`
    + `<text class="t-title" x="${PAD}" y="${PAD + 21}">${esc(group.module)}</text>`
    + `<text class="t-meta" x="${PAD}" y="${PAD + 48}">${esc(t(group.members.length === 1 ? 'collapsedModuleOne' : 'collapsedModule', { count: group.members.length }))}</text>`;
}

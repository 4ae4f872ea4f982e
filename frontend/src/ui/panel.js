// The side panel: the selected tensor (attributes, value, gradient) or op in full.
import { flatValues, formatNumber, formatShape, shortDtype, toNumber } from '../format.js';
import { t } from '../i18n.js';
import { backwardPasses, gradOf, leafGradAfter, passLeaf } from '../timeline.js';
import { updateArithmetic } from '../updates.js';
import { divergingColour } from '../render/nodeContent.js';
import { heatmapLegend, heatmapScale } from './heatmapLegend.js';
import { tensorName } from '../graph/model.js';

const TABLE_MAX = 12;

/** @param {HTMLElement} body */
export function createPanel(body) {
  let last = null;
  function show(index, id) {
    last = index && id ? { index, id } : null;
    if (!last) return body.replaceChildren(paragraph(t('selectHint'), 'muted'));
    const node = index.nodes.get(id);
    if (!node) return body.replaceChildren(groupSummary(id));
    body.replaceChildren(...(node.kind === 'tensor' ? tensorParts(index, node) : opParts(index, node)));
  }
  return { show, refresh: () => (last ? show(last.index, last.id) : show(null, null)) };
}

function tensorParts(index, node) {
  const producer = node.grad_fn ? index.nodes.get(node.grad_fn) : null;
  const attrs = [
    ['shape', formatShape(node.shape)],
    ['dtype', shortDtype(node.dtype)],
    ['device', node.device],
    ['requires_grad', pyBool(node.requires_grad)],
    ['is_leaf', pyBool(node.is_leaf)],
    ['grad_fn', producer && !producer.variable ? `<${producer.op}>` : 'None'],
  ];
  if (node.module) attrs.push([t('module'), node.module]);
  const grad = gradOf(index, node.id);
  return [
    heading(tensorName(index, node.id), 'h3'),
    heading(t('attributes'), 'h4'),
    attributeList(attrs),
    heading(t('value'), 'h4'),
    summaryView(node.value),
    ...passValueParts(index, node),
    heading(t('gradient'), 'h4'),
    ...passGradParts(index, node, grad),
    ...updateParts(index, node),
  ];
}

/** Updates shown at most for one leaf: the last ones of a long loop. */
const UPDATES_SHOWN = 6;

/** A leaf an optimizer moved: the value each pass read (the graph's value is the last). */
function passValueParts(index, node) {
  const parts = [];
  backwardPasses(index.graph).forEach((pass, k) => {
    const entry = passLeaf(index, node.id, k);
    if (!entry?.value || (index.graph.updates || []).every((u) => u.node !== node.id || u.kind === 'zero_grad')) return;
    parts.push(paragraph(t('valueInPass', { n: (pass.index ?? k) + 1 }), 'pass-label'), summaryView(entry.value));
  });
  return parts;
}

/** What the program did to this leaf between passes: optimizer steps (Adam's moments too), zero_grad. */
function updateParts(index, node) {
  const updates = (index.graph.updates || []).filter((u) => u.node === node.id);
  if (!updates.length) return [];
  const parts = [heading(t('updatesHeading'), 'h4')];
  const name = tensorName(index, node.id);
  for (const update of updates.slice(-UPDATES_SHOWN)) {
    const detail = update.detail || {};
    const after = update.after_pass === null || update.after_pass === undefined ? '' : ` · backward() #${update.after_pass + 1}`;
    parts.push(paragraph(`${update.kind}${detail.optimizer ? ` (${detail.optimizer})` : ''}${after}`, 'pass-label'));
    if (update.kind === 'zero_grad') parts.push(paragraph(`${name}.grad = ${update.after ? formatNumber(flatValues(update.after)[0]) : 'None'}`));
    else if (update.kind !== 'scheduler_step') parts.push(paragraph(updateArithmetic(name, update), 'update-expr'));
    for (const key of ['exp_avg', 'exp_avg_sq']) {
      if (!detail[key]) continue;
      parts.push(paragraph(`${key}${detail.step != null ? ` (step ${detail.step})` : ''}`, 'saved-name'), summaryView(detail[key]));
    }
  }
  return parts;
}

/** One gradient, or with two or more backward() calls each pass's (a leaf: its .grad after each). */
function passGradParts(index, node, grad) {
  const passes = backwardPasses(index.graph);
  if (passes.length < 2) return [grad ? summaryView(grad) : paragraph(t('noGrad'), 'muted')];
  const parts = [];
  const leaf = node.is_leaf && node.requires_grad;
  passes.forEach((_, k) => {
    const summary = leaf ? leafGradAfter(index, node.id, k) : gradOf(index, node.id, k);
    if (!summary) return;
    parts.push(paragraph(t(leaf ? 'gradAfterPass' : 'gradInPass', { n: k + 1 }), 'pass-label'), summaryView(summary));
  });
  return parts.length ? parts : [paragraph(t('noGrad'), 'muted')];
}

function opParts(index, node) {
  const parts = [heading(node.label, 'h3'), attributeList([['grad_fn', node.op], ...(node.module ? [[t('module'), node.module]] : [])])];
  if (node.variable) parts.push(paragraph(`AccumulateGrad → ${tensorName(index, node.variable)}.grad`));
  if (node.saved?.length) {
    parts.push(heading(t('saved'), 'h4'));
    for (const saved of node.saved) {
      parts.push(paragraph(saved.name, 'saved-name'));
      parts.push(saved.summary ? summaryView(saved.summary) : paragraph(String(saved.value)));
    }
  }
  const sent = gradientsSent(index, node.id);
  if (sent.length) {
    parts.push(heading(t('gradsSent'), 'h4'));
    for (const summary of sent) parts.push(summaryView(summary));
  }
  return parts;
}

/** The gradients an op sent to its inputs: each input edge carries the one for its slot. */
function gradientsSent(index, opId) {
  return (index.inputsOf.get(opId) || [])
    .filter((edge) => edge.kind === 'input' && edge.grad)
    .sort((a, b) => (a.slot ?? 0) - (b.slot ?? 0))
    .map((edge) => edge.grad);
}

function groupSummary(id) {
  return heading(id.replace(/^module:/, ''), 'h3');
}

function pyBool(v) {
  return v ? 'True' : 'False';
}

function heading(text, tag) {
  const el = document.createElement(tag);
  el.textContent = text;
  return el;
}

function paragraph(text, className) {
  const p = document.createElement('p');
  p.textContent = text;
  if (className) p.className = className;
  return p;
}

function attributeList(pairs) {
  const dl = document.createElement('dl');
  dl.className = 'attributes';
  for (const [key, value] of pairs) {
    const dt = document.createElement('dt');
    dt.textContent = key;
    const dd = document.createElement('dd');
    dd.textContent = value;
    dl.append(dt, dd);
  }
  return dl;
}

/** A value in full: a table when small, else statistics and a heatmap. */
export function summaryView(summary) {
  const wrap = document.createElement('div');
  wrap.className = 'summary';
  if (!summary) return wrap;
  const data = summary.data;
  if (data !== null && data !== undefined && summary.shape.length <= 2 && fitsTable(summary.shape)) {
    wrap.append(valueTable(summary.shape.length === 0 ? [[data]] : summary.shape.length === 1 ? [data] : data));
    return wrap;
  }
  if (summary.stats) {
    const s = summary.stats;
    wrap.append(paragraph(t('stats', { min: formatNumber(s.min), max: formatNumber(s.max), mean: formatNumber(s.mean), std: formatNumber(s.std) })));
  }
  const head = flatValues(summary).slice(0, 12);
  if (head.length) wrap.append(paragraph(`${head.map((v) => formatNumber(v, 3)).join(', ')} ${t('moreValues', { count: summary.numel })}`, 'head'));
  const grid = summary.grid?.data ?? (summary.shape.length === 2 && data ? data : null);
  if (grid) wrap.append(...heatmap(grid));
  return wrap;
}

function fitsTable(shape) {
  return shape.every((n) => n <= TABLE_MAX);
}

function valueTable(rows) {
  const table = document.createElement('table');
  table.className = 'value-table';
  for (const row of rows) {
    const tr = document.createElement('tr');
    for (const v of row) {
      const td = document.createElement('td');
      td.textContent = formatNumber(v);
      tr.append(td);
    }
    table.append(tr);
  }
  return table;
}

/** The heatmap of a grid and, under it, the colour scale its cells were painted with. */
function heatmap(grid) {
  const canvas = document.createElement('canvas');
  const rows = grid.length;
  const cols = grid[0]?.length || 1;
  canvas.width = cols;
  canvas.height = rows;
  canvas.className = 'heatmap';
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', `heatmap ${rows}×${cols}`);
  const ctx = canvas.getContext('2d');
  const scale = heatmapScale(grid.flat().map(toNumber).filter(Number.isFinite));
  const limit = scale ? scale.limit : 1;
  grid.forEach((row, r) => row.forEach((v, c) => {
    ctx.fillStyle = divergingColour(toNumber(v) / limit);
    ctx.fillRect(c, r, 1, 1);
  }));
  return scale ? [canvas, heatmapLegend(scale)] : [canvas];
}

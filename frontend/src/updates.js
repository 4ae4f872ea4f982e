// The steps of a training loop between backward passes: optimizer.step(), in-place writes
// to leaves, zero_grad and scheduler steps (the graph's `updates`), with their arithmetic.
import { formatNumber, scalarOf, summaryText, toNumber } from './format.js';
import { tensorName } from './graph/model.js';

/** Detail lines at most per step: opt.step() over a big model lists the first few parameters. */
const DETAIL_LINES = 4;

/**
 * One step for a group of updates made by one statement (one opt.step() moves every parameter).
 * @param {ReturnType<import('./graph/model.js').indexGraph>} index
 * @param {import('./graph/types.js').Update[]} group
 */
export function updateStep(index, group) {
  const step = { phase: 'update', op: null, focus: [], flows: [], values: [], grads: [], edgeGrads: [], pass: null, narration: [] };
  const first = group[0];
  step.updates = group;
  step.focus = group.map((u) => u.node).filter((id) => id && index.nodes.has(id));
  step.span = first.span ?? null;
  const names = step.focus.map((id) => tensorName(index, id));
  step.narration.push(mainLine(first, names));
  if (first.kind === 'zero_grad') {
    step.setGrads = group.filter((u) => u.node).map((u) => ({ id: u.node, summary: u.after ?? null }));
  } else if (first.kind !== 'scheduler_step') {
    step.setValues = group.filter((u) => u.node && u.after).map((u) => ({ id: u.node, summary: u.after }));
  }
  const details = group.flatMap((u) => detailLines(index, u));
  step.narration.push(...details.slice(0, DETAIL_LINES));
  if (details.length > DETAIL_LINES) step.narration.push({ key: 'updateMore', params: { count: details.length - DETAIL_LINES } });
  return step;
}

function mainLine(update, names) {
  const detail = update.detail || {};
  const list = names.length > 3 ? `${names.slice(0, 3).join(', ')}, …` : names.join(', ');
  switch (update.kind) {
    case 'optimizer_step': {
      const how = [detail.optimizer, detail.lr != null ? `lr = ${formatNumber(detail.lr)}` : null].filter(Boolean).join(', ');
      return { key: how ? 'updateOptimizer' : 'updateOptimizerPlain', params: { how, names: list } };
    }
    case 'inplace':
      return { key: 'updateInplace', params: { names: list } };
    case 'zero_grad':
      return { key: 'updateZeroGrad', params: { names: list } };
    default:
      return { key: 'updateScheduler', params: { before: formatNumber(detail.lr_before), after: formatNumber(detail.lr_after) } };
  }
}

/** The arithmetic of one leaf's update, and for Adam its moments. */
function detailLines(index, update) {
  if (update.kind === 'scheduler_step' || !update.node) return [];
  const name = tensorName(index, update.node);
  if (update.kind === 'zero_grad') {
    return [{ key: 'updateLine', params: { text: `${name}.grad = ${update.after ? summaryText(update.after) : 'None'}` } }];
  }
  const lines = [{ key: 'updateLine', params: { text: updateArithmetic(name, update, gradBefore(index, update)) } }];
  const detail = update.detail || {};
  if (detail.exp_avg || detail.exp_avg_sq) {
    lines.push({
      key: 'updateAdam',
      params: { name, step: detail.step ?? '–', m: summaryText(detail.exp_avg), v: summaryText(detail.exp_avg_sq) },
    });
  }
  return lines;
}

/**
 * "w ← 0.6 − 0.1 × (−4.8) = 1.08": the server's own text when it sent one, else computed from
 * before, lr and the gradient when they add up (plain SGD), else "w: 0.6 → 1.08".
 * @param {string} name @param {import('./graph/types.js').Update} update
 */
export function updateArithmetic(name, update, gradSeen = null) {
  const detail = update.detail || {};
  if (detail.expr) return detail.expr;
  const before = toNumber(scalarOf(update.before));
  const after = toNumber(scalarOf(update.after));
  const grad = toNumber(scalarOf(detail.grad ?? gradSeen));
  const lr = toNumber(detail.lr ?? (update.kind === 'inplace' ? stepSize(before, after, grad) : undefined));
  if ([before, after, grad, lr].every(Number.isFinite)) {
    const expected = before - lr * grad;
    if (Math.abs(expected - after) <= 1e-5 * Math.max(1, Math.abs(after))) {
      return `${name} ← ${signed(before)} − ${signed(lr)} × ${signed(grad)} = ${minus(formatNumber(after))}`;
    }
  }
  if (Number.isFinite(before) && Number.isFinite(after)) return `${name}: ${minus(formatNumber(before))} → ${minus(formatNumber(after))}`;
  if (Number.isFinite(lr) && update.kind === 'optimizer_step' && (!detail.optimizer || detail.optimizer === 'SGD')) {
    return `${name} ← ${name} − ${formatNumber(lr)} × ${name}.grad`;
  }
  return `${name}: ${summaryText(update.before)} → ${summaryText(update.after)}`;
}

/**
 * The learning rate of a hand-written step (w -= lr * w.grad), which the graph does not carry:
 * (before − after) / grad, when it is a short decimal such as 0.15 (a step of another kind,
 * momentum or decay, gives no such number and is shown as before → after).
 */
function stepSize(before, after, grad) {
  if (![before, after, grad].every(Number.isFinite) || grad === 0) return undefined;
  const ratio = (before - after) / grad;
  const short = Number(ratio.toPrecision(3));
  return ratio > 0 && Math.abs(ratio - short) <= 1e-4 * Math.abs(ratio) ? short : undefined;
}

/** The .grad an update read: what the leaf's .grad held after the pass before it. */
function gradBefore(index, update) {
  if (update.after_pass === null || update.after_pass === undefined) return null;
  const pass = (index.graph.backward_passes || []).find((p) => p.index === update.after_pass);
  return pass?.leaves?.find((leaf) => leaf.node === update.node)?.grad_after ?? null;
}

/** A number as an operand: negatives in parentheses, with a true minus sign. */
function signed(value) {
  const text = formatNumber(value);
  return value < 0 ? `(${minus(text)})` : text;
}

function minus(text) {
  return text.replace(/^-/, '−');
}

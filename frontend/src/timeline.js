// A graph turned into a list of steps, as the program ran: per backward pass (one iteration
// of a training loop) the forward steps of its graph, a seed step, one step per op in the
// order torch ran them, then the updates that followed it (optimizer.step(), zero_grad…);
// then the end. Each step carries narration data (keys and parameters, translated when
// shown) and what it reveals.
import { formatNumber, scalarOf, summaryText, toNumber } from './format.js';
import { isAccumulate, tensorName } from './graph/model.js';
import { forwardFormula } from './formula.js';
import { updateStep } from './updates.js';

/**
 * @typedef {{key:string, params?:Record<string, unknown>}} Line
 * @typedef {object} Step
 * @property {'start'|'forward'|'seed'|'backward'|'update'|'skip'|'done'} phase
 * @property {string|null} op          the op node this step runs
 * @property {string[]} focus          graph node ids to highlight and bring into view
 * @property {{id:string, direction:'forward'|'backward'}[]} flows  edges with moving dots
 * @property {string[]} values         tensors whose value appears at this step
 * @property {string[]} grads          tensors whose gradient appears at this step
 * @property {string[]} edgeGrads      edges whose gradient appears at this step
 * @property {number|null} pass        the backward pass whose gradients the step shows
 * @property {boolean} [leafGrad]      the step updates a leaf's .grad (kept across passes)
 * @property {{id:string, summary:object}[]} [setValues]  leaves whose value changes here (the
 *   value a pass read, an optimizer's result)
 * @property {{id:string, summary:object|null}[]} [setGrads]  leaves whose .grad is reset (null: None)
 * @property {object[]} [updates]      the graph's updates this step shows
 * @property {Line[]} narration
 */

/**
 * @param {ReturnType<import('./graph/model.js').indexGraph>} index
 * @param {{pass?: number|null}} [options] pass: the one shown pass (position in backward_passes)
 *   to play on its own (an iteration picked on the loss plot); null plays the program as it ran
 * @returns {Step[]}
 */
export function buildTimeline(index, { pass: only = null } = {}) {
  const passes = backwardPasses(index.graph);
  const updates = updatesAfter(index.graph);
  const forward = forwardCursor(index, only);
  const shown = only === null ? passes.map((_, k) => k) : [only].filter((k) => passes[k]);
  const steps = [startStep(index, only)];
  let lastPass = null;
  if (only === null) pushUpdates(steps, index, updates.get(null), null);
  shown.forEach((k, position) => {
    const pass = passes[k];
    if (!index.nodes.has(pass.root)) return;
    if (only === null && position > 0) pushGap(steps, passes[shown[position - 1]], pass);
    const forwardSteps = forward.take(pass, k, position);
    const seed = seedStep(index, pass.root, k);
    // The leaves hold, from this pass's first step, the values its graph read.
    (forwardSteps[0] || seed).setValues = passLeafValues(pass);
    steps.push(...forwardSteps, seed, ...backwardSteps(index, pass, k));
    lastPass = k;
    if (pass.index !== undefined && pass.index !== null) pushUpdates(steps, index, updates.get(pass.index), k);
  });
  if (only === null) steps.push(...forward.rest());
  if (steps.length > 1) steps.push(endStep(index, steps, lastPass));
  return steps;
}

/**
 * Hands out forward steps pass by pass: a pass's forward is the ops of its graph not run by
 * an earlier pass (shared nodes shared) and, playing the whole program, the ops that ran
 * before them outside any pass; rest() is what ran after the last pass (an output never
 * back-propagated, a no_grad evaluation).
 */
function forwardCursor(index, only) {
  const ops = (index.graph.forward_order || []).filter((id) => {
    const op = index.nodes.get(id);
    return op && op.kind === 'op' && !isAccumulate(op);
  });
  const forwarded = new Set();
  let cursor = 0;
  const stepsOf = (ids, k) => ids.filter((id) => !forwarded.has(id)).map((id) => {
    forwarded.add(id);
    const step = forwardStep(index, index.nodes.get(id), k);
    step.pass = k;
    return step;
  });
  return {
    take(pass, k, position) {
      const own = passNodeSet(pass);
      if (only !== null) return stepsOf(ops.filter((id) => !own || own.has(id)), k);
      // Old JSON lists no nodes per pass: the first pass takes the whole forward.
      const last = own ? lastIndexIn(ops, own) : position === 0 ? ops.length - 1 : -1;
      const mine = ops.slice(cursor, Math.max(cursor, last + 1));
      cursor = Math.max(cursor, last + 1);
      return stepsOf(mine, k);
    },
    rest: () => stepsOf(ops.slice(cursor), null),
  };
}

/** The backward steps of one pass, in the order torch ran its nodes. */
function backwardSteps(index, pass, k) {
  const tracker = gradTracker(index, pass.order, k);
  const out = [];
  for (const opId of pass.order) {
    const op = index.nodes.get(opId);
    if (op?.kind !== 'op') continue;
    const step = backwardStep(index, op, pass.root, tracker, k);
    step.pass = k;
    out.push(step);
  }
  return out;
}

/** The last step: every leaf's .grad as the program left it (a zero_grad after the last pass counts). */
function endStep(index, steps, lastPass) {
  if (lastPass === null) return forwardDoneStep();
  const { gradOverrides } = revealedAt(steps, steps.length - 1);
  const done = doneStep(index, lastPass, gradOverrides);
  done.pass = lastPass;
  return done;
}

/** The node ids of a pass's own graph, or null for old JSON that does not list them. */
function passNodeSet(pass) {
  return pass.nodes?.length ? new Set(pass.nodes) : null;
}

function lastIndexIn(list, set) {
  for (let i = list.length - 1; i >= 0; i--) if (set.has(list[i])) return i;
  return -1;
}

/** The values of the leaves as this pass's graph read them: leaf id -> summary. */
function passLeafValues(pass) {
  return (pass.leaves || []).filter((leaf) => leaf.value).map((leaf) => ({ id: leaf.node, summary: leaf.value }));
}

/** The updates grouped by the pass they followed (after_pass; null: before any pass). */
function updatesAfter(graph) {
  const out = new Map();
  for (const update of graph.updates || []) {
    const key = update.after_pass ?? null;
    if (!out.has(key)) out.set(key, []);
    out.get(key).push(update);
  }
  return out;
}

/** One step per statement that updated leaves (opt.step() moves every parameter at once). */
function pushUpdates(steps, index, updates, k) {
  if (!updates?.length) return;
  const groups = [];
  for (const update of updates) {
    const last = groups.at(-1);
    if (last && last[0].kind === update.kind && sameSpan(last[0].span, update.span)) last.push(update);
    else groups.push([update]);
  }
  for (const group of groups) {
    const step = updateStep(index, group);
    step.pass = k;
    steps.push(step);
  }
}

function sameSpan(a, b) {
  if (!a || !b) return a === b;
  return a.line === b.line && a.col === b.col && a.end_line === b.end_line && a.end_col === b.end_col;
}

/** Passes a long loop ran between two shown ones, kept only in the loss plot. */
function pushGap(steps, previous, pass) {
  const from = (previous.index ?? -1) + 1;
  const to = (pass.index ?? from) - 1;
  if (previous.index === undefined || previous.index === null || to < from) return;
  const step = emptyStep('skip');
  step.narration.push({ key: to > from ? 'stepSkipped' : 'stepSkippedOne', params: { from: from + 1, to: to + 1 } });
  steps.push(step);
}

/** Whether the passes carry their own gradients: the server decides (per_pass); old JSON, two or more passes. */
export function perPass(index) {
  const { graph } = index;
  if (typeof graph.per_pass === 'boolean') return graph.per_pass;
  return (graph.backward_passes?.length || 0) >= 2;
}

/** The BackwardPass k when its own gradients are to be read, else null (the top-level fields). */
function passData(index, k) {
  if (k === null || k === undefined || !perPass(index)) return null;
  return index.graph.backward_passes[k] || null;
}

/** The gradient that flowed along an edge in pass k (a summary), or the top-level one. */
export function edgeGradIn(index, edge, k = null) {
  const pass = passData(index, k);
  return pass ? pass.edge_grads?.[edge.id] ?? null : edge.grad ?? null;
}

/** The chain step of an edge in pass k, or the top-level one. */
export function edgeChainIn(index, edge, k = null) {
  const pass = passData(index, k);
  return pass ? pass.chain?.[edge.id] ?? null : edge.chain ?? null;
}

/** Tensors whose value is hidden until a forward step computes it. */
export function computedLater(index) {
  const later = new Set();
  for (const opId of index.graph.forward_order || []) {
    for (const edge of index.outputsOf.get(opId) || []) later.add(edge.target);
  }
  return later;
}

export function backwardPasses(graph) {
  if (graph.backward_passes?.length) return graph.backward_passes;
  if (graph.backward_order?.length && graph.output) return [{ root: graph.output, order: graph.backward_order }];
  return [];
}

function emptyStep(phase, op = null) {
  return { phase, op, focus: [], flows: [], values: [], grads: [], edgeGrads: [], pass: null, narration: [] };
}

function leafIds(index) {
  return index.graph.nodes.filter((n) => n.kind === 'tensor' && n.is_leaf && n.requires_grad).map((n) => n.id);
}

function startStep(index, only) {
  const step = emptyStep('start');
  const passes = backwardPasses(index.graph);
  // The values the first pass shown read (an optimizer moves the leaves afterwards).
  const first = passes[only ?? 0];
  const read = new Map((first?.leaves || []).filter((l) => l.value).map((l) => [l.node, l.value]));
  const leaves = leafIds(index);
  step.focus = leaves;
  step.setValues = [...read].map(([id, summary]) => ({ id, summary }));
  const valueOf = (id) => read.get(id) ?? index.nodes.get(id).value;
  const described = leaves.slice(0, 4).map((id) => `${tensorName(index, id)} = ${summaryText(valueOf(id))}`);
  step.narration.push(described.length ? { key: 'stepStart', params: { leaves: described.join(', ') } } : { key: 'stepStartNoLeaves' });
  return step;
}

function forwardStep(index, op, k = null) {
  const step = emptyStep('forward', op.id);
  const inputs = [...(index.inputsOf.get(op.id) || [])].sort((a, b) => (a.slot ?? 0) - (b.slot ?? 0));
  const outputs = index.outputsOf.get(op.id) || [];
  step.focus = [op.id, ...inputs.map((e) => e.source), ...outputs.map((e) => e.target)];
  step.flows = [...inputs, ...outputs].map((e) => ({ id: e.id, direction: 'forward' }));
  step.values = outputs.map((e) => e.target);
  const output = outputs[0] && index.nodes.get(outputs[0].target);
  const params = {
    output: outputs.map((e) => tensorName(index, e.target)).join(', ') || op.label,
    // A leaf an optimizer moves holds, at this step, the value this pass read.
    expr: forwardFormula(index, op, inputs, output, (id) => passLeaf(index, id, k)?.value ?? index.nodes.get(id)?.value),
    value: output?.value ? summaryText(output.value) : '',
  };
  // "(w * x) = w * x" says it twice: a tensor named by its own text is narrated once.
  const same = params.output.replace(/^\((.*)\)$/, '$1') === params.expr.replace(/^\((.*)\)$/, '$1');
  step.narration.push({ key: output?.value ? (same ? 'narrForwardBare' : 'narrForwardExpr') : 'narrForwardExprNoValue', params });
  return step;
}

function seedStep(index, root, k) {
  const step = emptyStep('seed');
  const passes = backwardPasses(index.graph);
  step.focus = [root];
  step.grads = [root];
  step.narration.push({ key: 'stepSeed', params: { output: tensorName(index, root) } });
  if (passes[k]?.automatic || (passes.length > 1 && passes[k]?.index !== undefined && passes[k]?.index !== null)) {
    step.narration.push({ key: passes[k].automatic ? 'stepSeedAutomatic' : 'stepSeedPass', params: { n: passes[k].index + 1, total: index.graph.pass_count || passes.length } });
  }
  return step;
}

/** Counts the contributions each tensor still waits for in one backward pass. */
function gradTracker(index, order, k) {
  const ran = new Set(order);
  const waiting = new Map();
  for (const [tensorId, edges] of index.consumersOf) {
    const count = edges.filter((e) => ran.has(e.target) && edgeGradIn(index, e, k)).length;
    if (count) waiting.set(tensorId, count);
  }
  const accumulated = new Set(order.map((id) => index.nodes.get(id)?.variable).filter(Boolean));
  return { waiting, accumulated };
}

function backwardStep(index, op, root, tracker, k) {
  if (isAccumulate(op)) return accumulateStep(index, op, k);
  const step = emptyStep('backward', op.id);
  const inputs = [...(index.inputsOf.get(op.id) || [])].sort((a, b) => (a.slot ?? 0) - (b.slot ?? 0));
  const outputs = index.outputsOf.get(op.id) || [];
  const outName = outputs.length ? tensorName(index, outputs[0].target) : op.label;
  step.focus = [op.id, ...outputs.map((e) => e.target), ...inputs.map((e) => e.source)];
  step.narration.push({ key: 'stepBackward', params: { op: op.label } });
  for (const edge of inputs) {
    if (!edgeGradIn(index, edge, k) && !edgeChainIn(index, edge, k)) continue;
    step.flows.push({ id: edge.id, direction: 'backward' });
    step.edgeGrads.push(edge.id);
    step.narration.push(chainLine(index, edge, root, outName, outputs[0]?.target, k));
    const left = (tracker.waiting.get(edge.source) || 1) - 1;
    tracker.waiting.set(edge.source, left);
    if (left === 0 && !tracker.accumulated.has(edge.source)) step.grads.push(edge.source);
  }
  for (const edge of outputs) step.flows.push({ id: edge.id, direction: 'backward' });
  return step;
}

function chainLine(index, edge, root, outName, outputId, k) {
  const input = tensorName(index, edge.source);
  const chain = edgeChainIn(index, edge, k) || oneElementChain(index, edge, outputId, k);
  if (chain) {
    const { upstream, local, product } = chain;
    return {
      key: 'chain',
      params: {
        root: tensorName(index, root), out: outName, input,
        upstream: formatNumber(upstream), local: formatNumber(local), product: formatNumber(product),
      },
    };
  }
  return { key: 'chainTensor', params: { root: tensorName(index, root), input, grad: summaryText(edgeGradIn(index, edge, k)) } };
}

function accumulateStep(index, op, k) {
  const step = emptyStep('backward', op.id);
  const leaf = op.variable;
  const contributions = (index.consumersOf.get(leaf) || []).filter((e) => edgeGradIn(index, e, k) || edgeChainIn(index, e, k));
  step.focus = [leaf, op.id];
  step.grads = [leaf];
  step.leafGrad = true;
  step.flows = (index.outputsOf.get(op.id) || []).map((e) => ({ id: e.id, direction: 'backward' }));
  step.narration.push(accumulateLine(index, leaf, contributions, k));
  return step;
}

/** A leaf's .grad right after pass k (what it accumulated so far), or the top-level one. */
export function leafGradAfter(index, leaf, k = null) {
  if (!passData(index, k)) return gradOf(index, leaf);
  for (let j = k; j >= 0; j--) {
    const entry = passLeaf(index, leaf, j);
    const grad = entry?.grad_after ?? index.graph.backward_passes[j]?.node_grads?.[leaf];
    if (grad) return grad;
  }
  return null;
}

/** What pass k recorded for a leaf it reached ({node, value, grad, grad_after}), or null. */
export function passLeaf(index, leaf, k) {
  if (k === null || k === undefined) return null;
  return index.graph.backward_passes?.[k]?.leaves?.find((entry) => entry.node === leaf) ?? null;
}

/** A leaf's .grad before pass k ran: what earlier passes left there, or null. */
function leafGradBefore(index, leaf, k) {
  return passData(index, k) && k > 0 ? leafGradAfter(index, leaf, k - 1) : null;
}

/**
 * "x.grad = 4 + 3 = 7" when the contributions add up to the leaf's gradient; in a later
 * backward pass the first term is what .grad already held ("x.grad = 4 + 3 = 7").
 */
function accumulateLine(index, leaf, contributions, k) {
  const name = tensorName(index, leaf);
  const entry = passLeaf(index, leaf, k);
  const after = entry?.grad_after ?? leafGradAfter(index, leaf, k);
  const numbers = contributions.map((e) => {
    const chain = edgeChainIn(index, e, k);
    return chain ? toNumber(chain.product) : toNumber(scalarOf(edgeGradIn(index, e, k)));
  });
  const final = toNumber(scalarOf(after));
  const close = (a, b) => Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));
  // What .grad held before this pass: the pass's own record (after − delivered) when it has one,
  // so a zero_grad() between passes shows as a fresh start.
  let previous = toNumber(scalarOf(leafGradBefore(index, leaf, k)));
  let before = leafGradBefore(index, leaf, k);
  if (entry?.grad && entry?.grad_after) {
    previous = final - toNumber(scalarOf(entry.grad));
    if (close(previous, 0) || close(final, toNumber(scalarOf(entry.grad)))) previous = 0;
    before = previous ? before : null;
    if (numbers.length === 1 && Number.isFinite(toNumber(scalarOf(entry.grad)))) numbers[0] = toNumber(scalarOf(entry.grad));
  }
  if (numbers.length && numbers.every(Number.isFinite) && Number.isFinite(final)) {
    const total = numbers.reduce((a, b) => a + b, 0);
    // Only a sum that adds up to what .grad holds is shown as one.
    if (Number.isFinite(previous) && previous !== 0 && close(previous + total, final)) {
      return { key: 'accumulateSum', params: { name, terms: [previous, ...numbers].map((v) => formatNumber(v)).join(' + '), sum: formatNumber(final) } };
    }
    if (numbers.length > 1 && close(total, final)) {
      return { key: 'accumulateSum', params: { name, terms: numbers.map((v) => formatNumber(v)).join(' + '), sum: formatNumber(final) } };
    }
  }
  const sum = summaryText(after);
  const terms = contributions.map((e) => edgeGradText(index, e, k));
  if (!before && terms.length > 1 && terms.length <= 6) return { key: 'accumulateSum', params: { name, terms: terms.join(' + '), sum } };
  return { key: 'accumulate', params: { name, sum } };
}

function forwardDoneStep() {
  const step = emptyStep('done');
  step.narration.push({ key: 'stepForwardDone' });
  return step;
}

/** Summary lines at most at the end: every parameter of a small model, the first of a big one. */
const DONE_LINES = 8;

function doneStep(index, lastPass, gradOverrides = new Map()) {
  const step = emptyStep('done');
  step.narration.push({ key: 'stepDone' });
  const leaves = leafIds(index).filter((id) => gradOverrides.has(id) || leafGradAfter(index, id, lastPass));
  step.focus = leaves;
  const text = (id) => {
    if (!gradOverrides.has(id)) return summaryText(leafGradAfter(index, id, lastPass));
    return gradOverrides.get(id) ? summaryText(gradOverrides.get(id)) : 'None';
  };
  for (const id of leaves.slice(0, DONE_LINES)) step.narration.push({ key: 'accumulate', params: { name: tensorName(index, id), sum: text(id) } });
  if (leaves.length > DONE_LINES) step.narration.push({ key: 'updateMore', params: { count: leaves.length - DONE_LINES } });
  return step;
}

/** upstream × local = product read off one-element gradients, when the server sent no chain. */
function oneElementChain(index, edge, outputId, k) {
  const product = toNumber(scalarOf(edgeGradIn(index, edge, k)));
  const upstream = toNumber(scalarOf(outputId ? gradOf(index, outputId, k) : null));
  if (!Number.isFinite(product) || !Number.isFinite(upstream) || upstream === 0) return null;
  return { upstream, local: product / upstream, product };
}

/** The text of the gradient that flowed along an edge (in pass k, or summed over all passes). */
export function edgeGradText(index, edge, k = null) {
  const chain = edgeChainIn(index, edge, k);
  if (chain) return formatNumber(chain.product);
  return summaryText(edgeGradIn(index, edge, k));
}

/**
 * A tensor's gradient: its own (.grad or retained), else the sum of what flowed into it.
 * With k, the gradient it had in backward pass k (a leaf: its .grad right after that pass).
 * @returns {object|null} a summary
 */
export function gradOf(index, tensorId, k = null) {
  const node = index.nodes.get(tensorId);
  if (!node) return null;
  const pass = passData(index, k);
  if (pass) {
    if (pass.node_grads?.[tensorId]) return pass.node_grads[tensorId];
  } else if (node.grad) return node.grad;
  const edges = (index.consumersOf.get(tensorId) || []).filter((e) => edgeGradIn(index, e, k) || edgeChainIn(index, e, k));
  const root = pass ? pass.root : rootOf(index);
  if (!edges.length) return tensorId === root ? { shape: node.shape, dtype: node.dtype, numel: 1, data: 1 } : null;
  if (edges.length === 1 && edgeGradIn(index, edges[0], k)) return edgeGradIn(index, edges[0], k);
  const numbers = edges.map((e) => {
    const chain = edgeChainIn(index, e, k);
    return chain ? toNumber(chain.product) : toNumber(scalarOf(edgeGradIn(index, e, k)));
  });
  if (numbers.some((n) => Number.isNaN(n))) return edgeGradIn(index, edges[0], k);
  return { shape: node.shape, dtype: node.dtype, numel: 1, data: numbers.reduce((a, b) => a + b, 0) };
}

/** Every gradient a tensor shows at some step: the summed one and each pass's (for sizing its box). */
export function gradsOf(index, tensorId) {
  const out = [gradOf(index, tensorId)];
  if (perPass(index)) index.graph.backward_passes.forEach((_, k) => out.push(gradOf(index, tensorId, k), passLeaf(index, tensorId, k)?.grad_after));
  for (const update of index.graph.updates || []) if (update.kind === 'zero_grad' && update.node === tensorId) out.push(update.after);
  return out.filter(Boolean);
}

/** Every text an edge's gradient label shows at some step. */
export function edgeGradTexts(index, edge) {
  const out = [];
  if (edge.chain || scalarOf(edge.grad) !== undefined) out.push(edgeGradText(index, edge));
  if (perPass(index)) {
    index.graph.backward_passes.forEach((_, k) => {
      if (edgeChainIn(index, edge, k) || scalarOf(edgeGradIn(index, edge, k)) !== undefined) out.push(edgeGradText(index, edge, k));
    });
  }
  return out;
}

function rootOf(index) {
  const { graph } = index;
  if (graph.backward_passes?.length) return graph.backward_passes[0].root;
  return graph.backward_order?.length ? graph.output : null;
}

/**
 * What is visible after the step at position upTo: computed values, gradients (tensor id ->
 * the pass whose numbers it shows), edge gradients (edge id -> pass). A new backward pass
 * starts with a clean slate except for leaves' .grad, which accumulates across passes until
 * an update resets it (gradOverrides: id -> the summary .grad holds). valueOverrides: leaf id ->
 * the value it holds at that point (what the pass read, what an optimizer wrote).
 * @param {Step[]} steps @param {number} upTo
 */
export function revealedAt(steps, upTo) {
  const values = new Set();
  const grads = new Map();
  const edgeGrads = new Map();
  const leafGrads = new Set();
  const valueOverrides = new Map();
  const gradOverrides = new Map();
  for (let i = 0; i <= upTo && i < steps.length; i++) {
    const step = steps[i];
    if (step.phase === 'seed') {
      for (const id of [...grads.keys()]) if (!leafGrads.has(id)) grads.delete(id);
      edgeGrads.clear();
    }
    for (const id of step.values) values.add(id);
    for (const { id, summary } of step.setValues || []) valueOverrides.set(id, summary);
    for (const { id, summary } of step.setGrads || []) {
      gradOverrides.set(id, summary);
      if (summary) {
        grads.set(id, step.pass);
        leafGrads.add(id);
      } else grads.delete(id);
    }
    for (const id of step.grads) {
      grads.set(id, step.pass);
      gradOverrides.delete(id);
      if (step.leafGrad) leafGrads.add(id);
    }
    for (const id of step.edgeGrads) edgeGrads.set(id, step.pass);
  }
  return { values, grads, edgeGrads, leafGrads, valueOverrides, gradOverrides };
}

/** The step where a pass's backward is done (its values and gradients all shown), before its updates. */
export function iterationEnd(steps) {
  for (let i = steps.length - 1; i >= 0; i--) if (steps[i].phase === 'backward') return i;
  return 0;
}

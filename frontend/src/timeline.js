// A graph turned into a list of steps: the start, one forward step per op in
// forward_order, then per backward pass a seed step and one step per op in the
// order torch ran them, then the end. Each step carries narration data (keys and
// parameters, translated when shown) and what it reveals.
import { formatNumber, scalarOf, summaryText, toNumber } from './format.js';
import { isAccumulate, tensorName } from './graph/model.js';

/**
 * @typedef {{key:string, params?:Record<string, unknown>}} Line
 * @typedef {object} Step
 * @property {'start'|'forward'|'seed'|'backward'|'done'} phase
 * @property {string|null} op          the op node this step runs
 * @property {string[]} focus          graph node ids to highlight and bring into view
 * @property {{id:string, direction:'forward'|'backward'}[]} flows  edges with moving dots
 * @property {string[]} values         tensors whose value appears at this step
 * @property {string[]} grads          tensors whose gradient appears at this step
 * @property {string[]} edgeGrads      edges whose gradient appears at this step
 * @property {Line[]} narration
 */

/** @param {ReturnType<import('./graph/model.js').indexGraph>} index @returns {Step[]} */
export function buildTimeline(index) {
  const { graph, nodes } = index;
  const steps = [startStep(index)];
  for (const opId of graph.forward_order || []) {
    const op = nodes.get(opId);
    if (op && op.kind === 'op' && !isAccumulate(op)) steps.push(forwardStep(index, op));
  }
  for (const pass of backwardPasses(graph)) {
    if (!nodes.has(pass.root)) continue;
    steps.push(seedStep(index, pass.root));
    const tracker = gradTracker(index, pass.order);
    for (const opId of pass.order) {
      const op = nodes.get(opId);
      if (op?.kind === 'op') steps.push(backwardStep(index, op, pass.root, tracker));
    }
  }
  if (steps.length > 1) steps.push(backwardPasses(graph).length ? doneStep(index) : forwardDoneStep());
  return steps;
}

/** Tensors whose value is hidden until a forward step computes it. */
export function computedLater(index) {
  const later = new Set();
  for (const opId of index.graph.forward_order || []) {
    for (const edge of index.outputsOf.get(opId) || []) later.add(edge.target);
  }
  return later;
}

function backwardPasses(graph) {
  if (graph.backward_passes?.length) return graph.backward_passes;
  if (graph.backward_order?.length && graph.output) return [{ root: graph.output, order: graph.backward_order }];
  return [];
}

function emptyStep(phase, op = null) {
  return { phase, op, focus: [], flows: [], values: [], grads: [], edgeGrads: [], narration: [] };
}

function leafIds(index) {
  return index.graph.nodes.filter((n) => n.kind === 'tensor' && n.is_leaf && n.requires_grad).map((n) => n.id);
}

function startStep(index) {
  const step = emptyStep('start');
  const leaves = leafIds(index);
  step.focus = leaves;
  const described = leaves.slice(0, 4).map((id) => `${tensorName(index, id)} = ${summaryText(index.nodes.get(id).value)}`);
  step.narration.push(described.length ? { key: 'stepStart', params: { leaves: described.join(', ') } } : { key: 'stepStartNoLeaves' });
  return step;
}

/** A name for an operand in a formula: a variable name, or the number itself for constants. */
function operandText(index, id) {
  const node = index.nodes.get(id);
  if (node && !node.name && !index.names.has(id) && !node.requires_grad && scalarOf(node.value) !== undefined) {
    return formatNumber(scalarOf(node.value));
  }
  return tensorName(index, id);
}

function forwardStep(index, op) {
  const step = emptyStep('forward', op.id);
  const inputs = [...(index.inputsOf.get(op.id) || [])].sort((a, b) => (a.slot ?? 0) - (b.slot ?? 0));
  const outputs = index.outputsOf.get(op.id) || [];
  step.focus = [op.id, ...inputs.map((e) => e.source), ...outputs.map((e) => e.target)];
  step.flows = [...inputs, ...outputs].map((e) => ({ id: e.id, direction: 'forward' }));
  step.values = outputs.map((e) => e.target);
  const output = outputs[0] && index.nodes.get(outputs[0].target);
  const params = {
    output: outputs.map((e) => tensorName(index, e.target)).join(', ') || op.label,
    op: op.label,
    inputs: [...inputs.map((e) => operandText(index, e.source)), ...scalarArguments(op, inputs.length)].join(', '),
    value: output ? summaryText(output.value) : '',
  };
  step.narration.push({ key: output ? 'narrForward' : 'narrForwardNoValue', params });
  return step;
}

/** Plain numbers the op was called with (pow's exponent, mul's other operand), from its saved values. */
function scalarArguments(op, tensorInputs) {
  const out = [];
  for (const saved of op.saved || []) {
    if (saved.name === 'alpha') continue;
    if (typeof saved.value === 'number') out.push(formatNumber(saved.value));
    else if (saved.name === 'other' && tensorInputs < 2 && saved.summary?.numel === 1) out.push(formatNumber(scalarOf(saved.summary)));
  }
  return out;
}

function seedStep(index, root) {
  const step = emptyStep('seed');
  step.focus = [root];
  step.grads = [root];
  step.narration.push({ key: 'stepSeed', params: { output: tensorName(index, root) } });
  return step;
}

/** Counts the contributions each tensor still waits for in one backward pass. */
function gradTracker(index, order) {
  const ran = new Set(order);
  const waiting = new Map();
  for (const [tensorId, edges] of index.consumersOf) {
    const count = edges.filter((e) => ran.has(e.target) && e.grad).length;
    if (count) waiting.set(tensorId, count);
  }
  const accumulated = new Set(order.map((id) => index.nodes.get(id)?.variable).filter(Boolean));
  return { waiting, accumulated };
}

function backwardStep(index, op, root, tracker) {
  if (isAccumulate(op)) return accumulateStep(index, op);
  const step = emptyStep('backward', op.id);
  const inputs = [...(index.inputsOf.get(op.id) || [])].sort((a, b) => (a.slot ?? 0) - (b.slot ?? 0));
  const outputs = index.outputsOf.get(op.id) || [];
  const outName = outputs.length ? tensorName(index, outputs[0].target) : op.label;
  step.focus = [op.id, ...outputs.map((e) => e.target), ...inputs.map((e) => e.source)];
  step.narration.push({ key: 'stepBackward', params: { op: op.label } });
  for (const edge of inputs) {
    if (!edge.grad && !edge.chain) continue;
    step.flows.push({ id: edge.id, direction: 'backward' });
    step.edgeGrads.push(edge.id);
    step.narration.push(chainLine(index, edge, root, outName, outputs[0]?.target));
    const left = (tracker.waiting.get(edge.source) || 1) - 1;
    tracker.waiting.set(edge.source, left);
    if (left === 0 && !tracker.accumulated.has(edge.source)) step.grads.push(edge.source);
  }
  for (const edge of outputs) step.flows.push({ id: edge.id, direction: 'backward' });
  return step;
}

function chainLine(index, edge, root, outName, outputId) {
  const input = tensorName(index, edge.source);
  const chain = edge.chain || oneElementChain(index, edge, outputId);
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
  return { key: 'chainTensor', params: { root: tensorName(index, root), input, grad: summaryText(edge.grad) } };
}

function accumulateStep(index, op) {
  const step = emptyStep('backward', op.id);
  const leaf = op.variable;
  const contributions = (index.consumersOf.get(leaf) || []).filter((e) => e.grad || e.chain);
  step.focus = [leaf, op.id];
  step.grads = [leaf];
  step.flows = (index.outputsOf.get(op.id) || []).map((e) => ({ id: e.id, direction: 'backward' }));
  step.narration.push(accumulateLine(index, leaf, contributions));
  return step;
}

/** "x.grad = 4 + 3 = 7" when the contributions add up to the leaf's gradient. */
function accumulateLine(index, leaf, contributions) {
  const name = tensorName(index, leaf);
  const numbers = contributions.map((e) => (e.chain ? toNumber(e.chain.product) : toNumber(scalarOf(e.grad))));
  const final = toNumber(scalarOf(gradOf(index, leaf)));
  if (numbers.length > 1 && numbers.every(Number.isFinite)) {
    const total = numbers.reduce((a, b) => a + b, 0);
    // Only a sum that adds up to what .grad holds is shown as one.
    if (Number.isFinite(final) && Math.abs(total - final) <= 1e-6 * Math.max(1, Math.abs(final))) {
      return { key: 'accumulateSum', params: { name, terms: numbers.map((v) => formatNumber(v)).join(' + '), sum: formatNumber(total) } };
    }
  }
  const sum = summaryText(gradOf(index, leaf));
  const terms = contributions.map(edgeGradText);
  if (terms.length > 1 && terms.length <= 6) return { key: 'accumulateSum', params: { name, terms: terms.join(' + '), sum } };
  return { key: 'accumulate', params: { name, sum } };
}

function forwardDoneStep() {
  const step = emptyStep('done');
  step.narration.push({ key: 'stepForwardDone' });
  return step;
}

function doneStep(index) {
  const step = emptyStep('done');
  step.narration.push({ key: 'stepDone' });
  const leaves = leafIds(index).filter((id) => gradOf(index, id));
  step.focus = leaves;
  for (const id of leaves.slice(0, 3)) step.narration.push({ key: 'accumulate', params: { name: tensorName(index, id), sum: summaryText(gradOf(index, id)) } });
  return step;
}

/** upstream × local = product read off one-element gradients, when the server sent no chain. */
function oneElementChain(index, edge, outputId) {
  const product = toNumber(scalarOf(edge.grad));
  const upstream = toNumber(scalarOf(outputId ? gradOf(index, outputId) : null));
  if (!Number.isFinite(product) || !Number.isFinite(upstream) || upstream === 0) return null;
  return { upstream, local: product / upstream, product };
}

/** The text of the gradient that flowed along an edge. */
export function edgeGradText(edge) {
  if (edge.chain) return formatNumber(edge.chain.product);
  return summaryText(edge.grad);
}

/**
 * A tensor's gradient: its own (.grad or retained), else the sum of what flowed into it.
 * @returns {object|null} a summary
 */
export function gradOf(index, tensorId) {
  const node = index.nodes.get(tensorId);
  if (!node) return null;
  if (node.grad) return node.grad;
  const edges = (index.consumersOf.get(tensorId) || []).filter((e) => e.grad || e.chain);
  if (!edges.length) return tensorId === rootOf(index) ? { shape: node.shape, dtype: node.dtype, numel: 1, data: 1 } : null;
  if (edges.length === 1 && edges[0].grad) return edges[0].grad;
  const numbers = edges.map((e) => (e.chain ? toNumber(e.chain.product) : toNumber(scalarOf(e.grad))));
  if (numbers.some((n) => Number.isNaN(n))) return edges[0].grad;
  return { shape: node.shape, dtype: node.dtype, numel: 1, data: numbers.reduce((a, b) => a + b, 0) };
}

function rootOf(index) {
  const { graph } = index;
  if (graph.backward_passes?.length) return graph.backward_passes[0].root;
  return graph.backward_order?.length ? graph.output : null;
}

/**
 * What is visible after the step at position upTo: computed values, gradients, edge gradients.
 * @param {Step[]} steps @param {number} upTo
 */
export function revealedAt(steps, upTo) {
  const values = new Set();
  const grads = new Set();
  const edgeGrads = new Set();
  for (let i = 0; i <= upTo && i < steps.length; i++) {
    for (const id of steps[i].values) values.add(id);
    for (const id of steps[i].grads) grads.add(id);
    for (const id of steps[i].edgeGrads) edgeGrads.add(id);
  }
  return { values, grads, edgeGrads };
}

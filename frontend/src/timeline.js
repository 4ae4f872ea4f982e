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
 * @property {number|null} pass        the backward pass whose gradients the step shows
 * @property {boolean} [leafGrad]      the step updates a leaf's .grad (kept across passes)
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
  const passes = backwardPasses(graph);
  let lastPass = null;
  passes.forEach((pass, k) => {
    if (!nodes.has(pass.root)) return;
    lastPass = k;
    const seed = seedStep(index, pass.root);
    seed.pass = k;
    steps.push(seed);
    const tracker = gradTracker(index, pass.order, k);
    for (const opId of pass.order) {
      const op = nodes.get(opId);
      if (op?.kind !== 'op') continue;
      const step = backwardStep(index, op, pass.root, tracker, k);
      step.pass = k;
      steps.push(step);
    }
  });
  if (steps.length > 1) {
    const done = passes.length ? doneStep(index, lastPass) : forwardDoneStep();
    done.pass = passes.length ? lastPass : null;
    steps.push(done);
  }
  return steps;
}

/** Whether the graph carries each pass's own gradients (two or more backward() calls). */
function perPass(index) {
  return (index.graph.backward_passes?.length || 0) >= 2;
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
    const grad = index.graph.backward_passes[j]?.node_grads?.[leaf];
    if (grad) return grad;
  }
  return null;
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
  const after = leafGradAfter(index, leaf, k);
  const before = leafGradBefore(index, leaf, k);
  const numbers = contributions.map((e) => {
    const chain = edgeChainIn(index, e, k);
    return chain ? toNumber(chain.product) : toNumber(scalarOf(edgeGradIn(index, e, k)));
  });
  const final = toNumber(scalarOf(after));
  const previous = toNumber(scalarOf(before));
  const close = (a, b) => Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));
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

function doneStep(index, lastPass) {
  const step = emptyStep('done');
  step.narration.push({ key: 'stepDone' });
  const leaves = leafIds(index).filter((id) => leafGradAfter(index, id, lastPass));
  step.focus = leaves;
  for (const id of leaves.slice(0, 3)) step.narration.push({ key: 'accumulate', params: { name: tensorName(index, id), sum: summaryText(leafGradAfter(index, id, lastPass)) } });
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
  if (perPass(index)) index.graph.backward_passes.forEach((_, k) => out.push(gradOf(index, tensorId, k)));
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
 * starts with a clean slate except for leaves' .grad, which accumulates across passes.
 * @param {Step[]} steps @param {number} upTo
 */
export function revealedAt(steps, upTo) {
  const values = new Set();
  const grads = new Map();
  const edgeGrads = new Map();
  const leafGrads = new Set();
  for (let i = 0; i <= upTo && i < steps.length; i++) {
    const step = steps[i];
    if (step.phase === 'seed') {
      for (const id of [...grads.keys()]) if (!leafGrads.has(id)) grads.delete(id);
      edgeGrads.clear();
    }
    for (const id of step.values) values.add(id);
    for (const id of step.grads) {
      grads.set(id, step.pass);
      if (step.leafGrad) leafGrads.add(id);
    }
    for (const id of step.edgeGrads) edgeGrads.set(id, step.pass);
  }
  return { values, grads, edgeGrads, leafGrads };
}

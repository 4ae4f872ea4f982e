// The formula a forward step narrates: every input of the op by name (an input the graph
// has no edge for is found among the op's saved tensors), constants kept (`x + 3`),
// enum-like arguments by name (`reduction='mean'`) or not at all, arithmetic written the
// way the program wrote it (`w * x - y`).
import { flatValues, formatNumber, formatShape, scalarOf, summaryText, toNumber } from './format.js';
import { SLOT_ARGS, sameValues, tensorName } from './graph/model.js';

/** Python's operator for the binary ops a program writes with one. */
const INFIX = { add: '+', sub: '-', mul: '*', div: '/', pow: '**' };

/** Enum arguments torch saves as integers, by name. */
const ENUMS = { reduction: ['none', 'mean', 'sum'] };

/** Saved entries that are tensors or bookkeeping, never an argument the program wrote. */
const NOT_ARGUMENTS = /sym_|_sizes$|_strides$|numel|^result|^self$|^mat\d?$|^vec$|^target$|^weight$|^bias$|^indices$|^input$|^total_weight$/;

/** Arguments unsaid at their default value, which a program rarely writes. */
const UNSAID_DEFAULTS = { ignore_index: -100 };

/** Flags that are False unless the program said otherwise: unsaid when False. */
const DEFAULT_FALSE = new Set(['keepdim', 'inplace']);

/** Arguments written without a name: pow(x, 2), mul(x, 3). */
const POSITIONAL = new Set(['exponent', 'other', 'scalar']);

/** Integers past this lost their value on the way (an int64 read as unsigned): better unsaid. */
const EXACT_INTEGERS = 2 ** 53;

/**
 * The right side of "y = …" for a forward step.
 * @param {ReturnType<import('./graph/model.js').indexGraph>} index
 * @param {import('./graph/types.js').OpNode} op
 * @param {import('./graph/types.js').Edge[]} inputs the op's input edges sorted by slot
 * @param {import('./graph/types.js').TensorNode|undefined} output
 * @param {(id: string) => object|null|undefined} [valueOf] a tensor's value at this step
 */
export function forwardFormula(index, op, inputs, output, valueOf = (id) => index.nodes.get(id)?.value) {
  const operands = operandList(index, op, inputs);
  const { positional, named } = scalarArguments(op, inputs.length);
  const infix = infixFormula(op, operands, positional, named, inputs, output, valueOf);
  if (infix) return infix;
  return `${op.label}(${[...operands, ...positional, ...named].join(', ')})`;
}

/** The op's tensor inputs in slot order; a slot without an edge is filled from the saved tensors. */
function operandList(index, op, inputs) {
  const bySlot = new Map(inputs.map((e) => [e.slot ?? 0, e]));
  const names = SLOT_ARGS[op.label] || [];
  const count = Math.max(names.length, ...inputs.map((e) => (e.slot ?? 0) + 1), 0);
  const out = [];
  for (let slot = 0; slot < count; slot++) {
    const edge = bySlot.get(slot);
    if (edge) out.push(operandText(index, edge.source));
    else {
      const saved = (op.saved || []).find((s) => s.name === names[slot] && s.summary);
      if (saved) out.push(savedTensorText(index, saved.summary));
      else if (slot < Math.max(0, ...inputs.map((e) => e.slot ?? 0))) out.push('…');
    }
  }
  return out;
}

/** A name for an operand: a variable, a transposed weight (weightᵀ), or a constant's number. */
export function operandText(index, id) {
  const node = index.nodes.get(id);
  if (node && !node.name && !index.names.has(id) && !node.requires_grad && scalarOf(node.value) !== undefined) {
    return formatNumber(scalarOf(node.value));
  }
  return tensorName(index, id);
}

/** A saved input tensor the graph has no edge for: the tensor node with that value, else its value or shape. */
function savedTensorText(index, summary) {
  const match = index.graph.nodes.find((n) => n.kind === 'tensor' && sameValues(n.value, summary) && (n.name || index.names.has(n.id)));
  if (match) return tensorName(index, match.id);
  return summaryText(summary);
}

/** Plain numbers and settings the op was called with, from its saved values. */
function scalarArguments(op, tensorInputs) {
  const positional = [];
  const named = [];
  for (const saved of op.saved || []) {
    const { name, value } = saved;
    if (name === 'other' && tensorInputs < 2 && saved.summary?.numel === 1) {
      positional.push(formatNumber(scalarOf(saved.summary)));
      continue;
    }
    if (NOT_ARGUMENTS.test(name) || value === null || value === undefined) continue;
    if (name === 'alpha' || name === 'beta') {
      if (value !== 1) named.push(`${name}=${formatNumber(value)}`);
      continue;
    }
    const text = argumentText(name, value);
    if (text === null) continue;
    if (POSITIONAL.has(name)) positional.push(text);
    else named.push(`${name}=${text}`);
  }
  return { positional, named };
}

function argumentText(name, value) {
  if (name in UNSAID_DEFAULTS && UNSAID_DEFAULTS[name] === value) return null;
  if (ENUMS[name]) return typeof value === 'number' && ENUMS[name][value] ? `'${ENUMS[name][value]}'` : null;
  if (typeof value === 'number') return Math.abs(value) >= EXACT_INTEGERS ? null : formatNumber(value);
  if (typeof value === 'boolean') return value ? 'True' : DEFAULT_FALSE.has(name) ? null : 'False';
  if (typeof value === 'string') return `'${value}'`;
  if (Array.isArray(value) && name === 'dim') return `[${value.join(', ')}]`;
  return null;
}

/** `a + b`, `x ** 2`, `x + 3` for the arithmetic operators; null when the op is not one of them. */
function infixFormula(op, operands, positional, named, inputs, output, valueOf) {
  const symbol = INFIX[op.label];
  if (op.label === 'rsub' && operands.length === 1) {
    const constant = positional[0] ?? constantByValues(inputs, output, valueOf, (x, y) => y + x);
    return constant === undefined ? null : `${constant} - ${wrap(operands[0])}`;
  }
  if (!symbol || named.length) return null;
  if (operands.length === 2 && !positional.length) return `${wrap(operands[0])} ${symbol} ${wrap(operands[1])}`;
  if (operands.length !== 1) return null;
  let constant = positional.length === 1 ? positional[0] : undefined;
  if (constant === undefined && !positional.length && (op.label === 'add' || op.label === 'sub')) {
    constant = constantByValues(inputs, output, valueOf, op.label === 'add' ? (x, y) => y - x : (x, y) => x - y);
  }
  return constant === undefined ? null : `${wrap(operands[0])} ${symbol} ${constant}`;
}

/** A name with spaces or operators in it stays one operand: (w * x). */
function wrap(text) {
  return /^[\w.ᵀ]+$|^\(.*\)$|^\[.*\]$/.test(text) ? text : `(${text})`;
}

/**
 * The number an add or sub was called with, which torch does not save: read off the values,
 * when output − input is the same everywhere (`x + 3`).
 */
function constantByValues(inputs, output, valueOf, diff) {
  const value = inputs[0] ? valueOf(inputs[0].source) : null;
  if (!value || !output?.value || formatShape(value.shape) !== formatShape(output.value.shape)) return undefined;
  if (value.data === undefined || value.data === null || output.value.data === undefined || output.value.data === null) return undefined;
  const xs = flatValues(value).map(toNumber);
  const ys = flatValues(output.value).map(toNumber);
  if (!xs.length || xs.length !== ys.length) return undefined;
  const diffs = xs.map((x, i) => diff(x, ys[i]));
  const first = diffs[0];
  const tolerance = 1e-4 * Math.max(1, ...ys.map(Math.abs));
  if (!Number.isFinite(first) || diffs.some((d) => !(Math.abs(d - first) <= tolerance))) return undefined;
  return formatNumber(Number(first.toPrecision(6)));
}

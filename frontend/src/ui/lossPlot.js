// Iterations at a glance: the loss of every backward pass of a training loop (and each
// single-number parameter's value), above the timeline. Clicking an iteration kept in
// detail shows that iteration's own graph; a long loop says which ones were kept.
import { formatNumber, toNumber } from '../format.js';
import { t } from '../i18n.js';

const SVG_NS = 'http://www.w3.org/2000/svg';
const WIDTH = 600;
const HEIGHT = 96;
const PAD = { left: 8, right: 8, top: 8, bottom: 8 };
/** Parameter lines drawn at most, so the plot stays readable. */
const PARAM_LINES = 3;

/**
 * @param {HTMLElement} container
 * @param {{onPick: (pass: number|null) => void}} handlers pass: a position in backward_passes
 */
export function createLossPlot(container, { onPick }) {
  /** @type {import('../graph/types.js').GraphModel|null} */
  let graph = null;
  let picked = null;
  let current = null;

  function show(newGraph) {
    graph = newGraph;
    picked = null;
    current = null;
    render();
  }

  function render() {
    const iterations = graph?.iterations || [];
    container.hidden = iterations.length < 2;
    if (container.hidden) return container.replaceChildren();
    const passes = graph.backward_passes || [];
    const total = graph.pass_count || iterations.length;
    const kept = passes.filter((p) => p.index !== null && p.index !== undefined).length;
    const header = document.createElement('div');
    header.className = 'loss-plot-header';
    header.append(text('strong', t('lossPlotTitle')), legend(iterations), picker(passes));
    const parts = [header, plot(iterations, passes)];
    if (total > kept && kept > 0) parts.push(text('p', t('lossPlotSampled', { shown: kept, total }), 'loss-plot-sampled'));
    container.replaceChildren(...parts);
  }

  function legend(iterations) {
    const last = iterations.at(-1);
    const span = document.createElement('span');
    span.className = 'loss-plot-legend';
    const items = [['loss', last.loss], ...paramNames(iterations).map((name) => [name, last.params?.[name]])];
    items.forEach(([name, value], i) => {
      const item = text('span', `${name} ${formatNumber(value)}`, `series series-${i}`);
      span.append(item);
    });
    return span;
  }

  function picker(passes) {
    const select = document.createElement('select');
    select.id = 'iteration-select';
    select.setAttribute('aria-label', t('lossPlotLabel'));
    select.append(new Option(t('iterationAll'), ''));
    passes.forEach((pass, k) => {
      const n = (pass.index ?? k) + 1;
      select.append(new Option(t('iterationShown', { n }), String(k)));
    });
    select.value = picked === null ? '' : String(picked);
    select.addEventListener('change', () => pick(select.value === '' ? null : Number(select.value)));
    return select;
  }

  function plot(iterations, passes) {
    const svg = document.createElementNS(SVG_NS, 'svg');
    svg.setAttribute('class', 'loss-plot-svg');
    svg.setAttribute('viewBox', `0 0 ${WIDTH} ${HEIGHT}`);
    svg.setAttribute('preserveAspectRatio', 'none');
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', t('lossPlotLabel'));
    const x = (i) => PAD.left + (i / Math.max(1, iterations.length - 1)) * (WIDTH - PAD.left - PAD.right);
    const series = [iterations.map((it) => toNumber(it.loss)), ...paramNames(iterations).map((name) => iterations.map((it) => toNumber(it.params?.[name])))];
    series.forEach((values, s) => svg.append(line(values, x, `series series-${s}`)));
    const shownAt = new Map(passes.map((p, k) => [p.index ?? k, k]));
    iterations.forEach((it, i) => {
      const k = shownAt.get(it.pass);
      if (k === undefined) return;
      const dot = document.createElementNS(SVG_NS, 'circle');
      dot.setAttribute('cx', x(i).toFixed(1));
      dot.setAttribute('cy', String(scaleY(series[0])(series[0][i])));
      dot.setAttribute('r', '4');
      dot.setAttribute('class', `kept${k === picked ? ' picked' : ''}`);
      dot.dataset.pass = String(k);
      svg.append(dot);
    });
    const marker = document.createElementNS(SVG_NS, 'line');
    marker.setAttribute('class', 'current');
    marker.setAttribute('y1', '0');
    marker.setAttribute('y2', String(HEIGHT));
    svg.append(marker);
    svg.addEventListener('click', (event) => {
      const rect = svg.getBoundingClientRect();
      const at = ((event.clientX - rect.left) / rect.width) * WIDTH;
      const i = Math.round(((at - PAD.left) / (WIDTH - PAD.left - PAD.right)) * (iterations.length - 1));
      const iteration = iterations[Math.max(0, Math.min(iterations.length - 1, i))];
      pick(nearestKept(passes, iteration.pass));
    });
    placeMarker(svg, iterations, x);
    return svg;
  }

  function pick(k) {
    picked = k;
    onPick(k);
  }

  /** Moves the marker to the iteration the timeline is playing. */
  function placeMarker(svg = container.querySelector('svg'), iterations = graph?.iterations || []) {
    const marker = svg?.querySelector('.current');
    if (!marker) return;
    const i = iterations.findIndex((it) => it.pass === current);
    marker.toggleAttribute('hidden', i < 0);
    const x = PAD.left + (Math.max(0, i) / Math.max(1, iterations.length - 1)) * (WIDTH - PAD.left - PAD.right);
    marker.setAttribute('x1', x.toFixed(1));
    marker.setAttribute('x2', x.toFixed(1));
  }

  return {
    show,
    refresh: render,
    /** @param {{pass:number|null}|null} step the timeline's current step */
    setCurrent(step) {
      const pass = step && step.pass !== null ? graph?.backward_passes?.[step.pass] : null;
      current = pass ? pass.index ?? step.pass : null;
      container.dataset.current = current === null ? '' : String(current);
      placeMarker();
    },
    /** @param {number|null} k the iteration shown on its own, by position in backward_passes */
    setPicked(k) {
      picked = k;
      render();
    },
  };
}

/** The single-number parameters the iterations carry, the first few. */
function paramNames(iterations) {
  const names = new Set();
  for (const it of iterations) for (const name of Object.keys(it.params || {})) names.add(name);
  return [...names].slice(0, PARAM_LINES);
}

/** The position in backward_passes of the kept pass nearest to pass index n. */
function nearestKept(passes, n) {
  let best = null;
  passes.forEach((p, k) => {
    const at = p.index ?? k;
    if (best === null || Math.abs(at - n) < Math.abs((passes[best].index ?? best) - n)) best = k;
  });
  return best;
}

/**
 * Each series on its own scale (loss and a weight differ by orders of magnitude); a positive
 * series spanning more than two decades (a loss falling from 21 to 1e-11) on a log scale.
 */
function scaleY(values) {
  const positive = values.filter(Number.isFinite).every((v) => v > 0);
  const finiteValues = values.filter(Number.isFinite);
  if (positive && finiteValues.length && Math.max(...finiteValues) / Math.min(...finiteValues) > 100) {
    const linear = scaleLinear(finiteValues.map(Math.log10));
    return (v) => (Number.isFinite(v) && v > 0 ? linear(Math.log10(v)) : null);
  }
  return scaleLinear(values);
}

function scaleLinear(values) {
  const finite = values.filter(Number.isFinite);
  const lo = Math.min(...finite);
  const hi = Math.max(...finite);
  const span = hi - lo || 1;
  return (v) => (Number.isFinite(v) ? (PAD.top + (1 - (v - lo) / span) * (HEIGHT - PAD.top - PAD.bottom)).toFixed(1) : null);
}

function line(values, x, className) {
  const y = scaleY(values);
  const points = values.map((v, i) => (Number.isFinite(v) ? `${x(i).toFixed(1)},${y(v)}` : null)).filter(Boolean);
  const polyline = document.createElementNS(SVG_NS, 'polyline');
  polyline.setAttribute('points', points.join(' '));
  polyline.setAttribute('class', className);
  return polyline;
}

function text(tag, content, className) {
  const el = document.createElement(tag);
  el.textContent = content;
  if (className) el.className = className;
  return el;
}

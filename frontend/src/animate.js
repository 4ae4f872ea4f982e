// Plays the timeline on the drawn graph: highlights, values and gradients appearing,
// dots travelling along edges, and the camera following the active nodes.
import { edgeGradText, gradOf, leafGradAfter, revealedAt } from './timeline.js';
import { valueShape } from './render/nodeContent.js';
import { passNodes } from './graph/model.js';

const SVG_NS = 'http://www.w3.org/2000/svg';
const FLOW_MS = 900;
const HOLD_MS = 1300;

/**
 * @param {{renderer: ReturnType<import('./render/svg.js').createSvgRenderer>,
 *          onStep: (index:number, step:object) => void,
 *          onPlayingChange: (playing:boolean) => void,
 *          minScale: () => number}} options
 */
export function createPlayer({ renderer, onStep, onPlayingChange, minScale }) {
  let index = null;
  const reducedMotion = matchMedia('(prefers-reduced-motion: reduce)');
  let steps = [];
  let alias = new Map();
  let pendingValues = new Set();
  let current = 0;
  let speed = 1;
  let playing = false;
  let timer = 0;
  let dotFrame = 0;

  function load(newSteps, newAlias, computedLater, graphIndex = null) {
    stop();
    changedValues.clear();
    passSets.clear();
    index = graphIndex;
    steps = newSteps;
    alias = newAlias;
    pendingValues = computedLater;
  }

  const viewId = (id) => alias.get(id) ?? id;

  function goTo(index, { animate = false, follow = true } = {}) {
    if (!steps.length) return;
    current = Math.max(0, Math.min(steps.length - 1, index));
    const step = steps[current];
    applyReveal(current);
    dimOtherPasses(step);
    applyHighlight(step);
    if (animate && !reducedMotion.matches) runDots(step);
    else clearDots();
    if (follow) followCamera(step, animate);
    onStep(current, step);
  }

  function applyReveal(position) {
    const scene = renderer.scene;
    if (!scene) return;
    const { values, grads, edgeGrads, leafGrads, valueOverrides, gradOverrides } = revealedAt(steps, position);
    const shownValues = new Set([...values].map(viewId));
    const shownGrads = new Set([...grads.keys()].map(viewId));
    const hidden = new Set([...pendingValues].map(viewId));
    for (const [id, el] of scene.nodeEls) {
      el.classList.toggle('pending', hidden.has(id) && !shownValues.has(id));
      el.classList.toggle('grad-shown', shownGrads.has(id));
    }
    // Each gradient shows the numbers of the backward pass that revealed it.
    if (index) {
      for (const [id, pass] of grads) {
        if (viewId(id) !== id) continue;
        if (gradOverrides.has(id)) {
          const summary = gradOverrides.get(id);
          renderer.showGrad(id, summary, `set:${summaryKey(summary)}`);
          continue;
        }
        const summary = leafGrads.has(id) ? leafGradAfter(index, id, pass) : gradOf(index, id, pass);
        renderer.showGrad(id, summary, String(pass));
      }
      showLeafValues(scene, valueOverrides);
    }
    for (const [id, el] of scene.labelEls) {
      const edge = scene.view.edges.find((e) => e.id === id);
      const original = edge?.originals.find((o) => edgeGrads.has(o.id));
      el.classList.toggle('shown', !!original);
      if (original && index) {
        const pass = edgeGrads.get(original.id);
        const text = edgeGradText(index, original, pass);
        if (text && text !== '–') renderer.showEdgeLabel(id, text);
      }
    }
  }

  /** Per pass (position in backward_passes): the view ids of its own graph, built on first use. */
  const passSets = new Map();

  /**
   * Playing a loop whose iterations are all drawn, the iteration being played stands out:
   * nodes and edges of the other iterations fade (shared leaves belong to every one).
   */
  function dimOtherPasses(step) {
    const scene = renderer.scene;
    if (!scene || !index) return;
    const passes = index.graph.backward_passes || [];
    const own = passes.length > 1 && step.pass !== null && step.pass !== undefined ? passSet(step.pass) : null;
    for (const [id, el] of scene.nodeEls) el.classList.toggle('other-pass', !!own && !own.has(id));
    for (const edge of scene.view.edges) {
      const el = scene.edgeEls.get(edge.id);
      if (el) el.classList.toggle('other-pass', !!own && !(own.has(edge.source) && own.has(edge.target)));
    }
  }

  function passSet(k) {
    if (!passSets.has(k)) {
      const ids = passNodes(index, k);
      passSets.set(k, ids ? new Set([...ids].map(viewId)) : null);
    }
    return passSets.get(k);
  }

  /** Leaves whose value text was changed: put back to the graph's value when no step sets one. */
  const changedValues = new Set();

  /** A leaf shows the value the current pass read, or what the last update wrote. */
  function showLeafValues(scene, overrides) {
    for (const id of new Set([...changedValues, ...overrides.keys()])) {
      if (viewId(id) !== id) continue;
      const el = scene.nodeEls.get(id);
      const node = index.nodes.get(id);
      if (!el || !node) continue;
      const summary = overrides.get(id) ?? node.value;
      if (setValueTexts(el, summary)) changedValues.add(id);
      el.dataset.value = valueKey(summary);
    }
  }

  let lit = [];
  function applyHighlight(step) {
    const scene = renderer.scene;
    if (!scene) return;
    for (const el of lit) el.classList.remove('active', 'phase-forward', 'phase-backward', 'active-op', 'flow-forward', 'flow-backward');
    lit = [];
    renderer.motion.querySelector('.flows').replaceChildren();
    const phase = step.phase === 'forward' || step.phase === 'start' ? 'phase-forward' : 'phase-backward';
    for (const id of new Set(step.focus.map(viewId))) {
      const el = scene.nodeEls.get(id);
      if (!el) continue;
      el.classList.add('active', phase);
      if (id === viewId(step.op)) el.classList.add('active-op');
      lit.push(el);
    }
    for (const flow of step.flows) {
      const el = scene.edgeEls.get(flow.id) || findViewEdge(scene, flow.id);
      if (!el) continue;
      el.classList.add(`flow-${flow.direction}`);
      lit.push(el);
      // Light dots moving along the edge in the direction of the flow (CSS; still under reduced motion).
      const overlay = document.createElementNS(SVG_NS, 'path');
      overlay.setAttribute('d', el.getAttribute('d'));
      overlay.setAttribute('class', `flow-overlay flow-${flow.direction}`);
      renderer.motion.querySelector('.flows').append(overlay);
    }
  }

  function findViewEdge(scene, originalId) {
    const edge = scene.view.edges.find((e) => e.originals.some((o) => o.id === originalId));
    return edge ? scene.edgeEls.get(edge.id) : null;
  }

  function runDots(step) {
    clearDots();
    const scene = renderer.scene;
    if (!scene) return;
    const layer = renderer.motion.querySelector('.dots');
    const tracks = [];
    for (const flow of step.flows) {
      const path = scene.edgeEls.get(flow.id) || findViewEdge(scene, flow.id);
      if (!path) continue;
      const dot = document.createElementNS(SVG_NS, 'circle');
      dot.setAttribute('r', '9');
      dot.setAttribute('class', `dot dot-${flow.direction}`);
      layer.append(dot);
      tracks.push({ path, dot, length: path.getTotalLength(), backward: flow.direction === 'backward' });
    }
    const start = performance.now();
    const duration = FLOW_MS / speed;
    const frame = (now) => {
      const p = Math.min(1, (now - start) / duration);
      for (const track of tracks) {
        const at = track.path.getPointAtLength(track.length * (track.backward ? 1 - p : p));
        track.dot.setAttribute('cx', at.x.toFixed(1));
        track.dot.setAttribute('cy', at.y.toFixed(1));
      }
      if (p < 1) dotFrame = requestAnimationFrame(frame);
      else clearDots();
    };
    dotFrame = requestAnimationFrame(frame);
  }

  function clearDots() {
    cancelAnimationFrame(dotFrame);
    renderer.motion.querySelector('.dots')?.replaceChildren();
  }

  /** The renderer frames the step (render/framing.js): whole graph when readable, else its neighbourhood. */
  function followCamera(step, animate) {
    renderer.follow([...new Set(step.focus.map(viewId))], { animate, opening: current === 0 });
  }

  function schedule() {
    clearTimeout(timer);
    if (!playing) return;
    timer = setTimeout(() => {
      if (current >= steps.length - 1) return setPlaying(false);
      goTo(current + 1, { animate: true });
      schedule();
    }, (FLOW_MS + HOLD_MS) / speed);
  }

  function setPlaying(value) {
    playing = value && steps.length > 1;
    onPlayingChange(playing);
    if (playing) {
      if (current >= steps.length - 1) goTo(0, { animate: true });
      schedule();
    } else clearTimeout(timer);
  }

  function stop() {
    playing = false;
    clearTimeout(timer);
    clearDots();
    onPlayingChange(false);
  }

  return {
    load,
    goTo,
    next: () => goTo(current + 1, { animate: true }),
    prev: () => goTo(current - 1, { animate: false }),
    restart: () => goTo(0),
    toggle: () => setPlaying(!playing),
    pause: () => setPlaying(false),
    setSpeed: (value) => (speed = value),
    refresh: () => goTo(current, { follow: false }),
    follow: () => goTo(current),
    get current() {
      return current;
    },
    get count() {
      return steps.length;
    },
    get playing() {
      return playing;
    },
  };
}

/**
 * Rewrites the numbers of a tensor node's value block in place (one number, or a small
 * table's cells); larger values keep the drawing of the graph's value. Returns whether it could.
 */
function setValueTexts(el, summary) {
  const shape = valueShape(summary);
  if (shape.type === 'scalar') {
    const text = el.querySelector('.value-block .t-value');
    if (!text) return false;
    text.textContent = shape.text;
    return true;
  }
  if (shape.type === 'table') {
    const cells = el.querySelectorAll('.value-block .t-cell');
    const texts = shape.texts.flat();
    if (cells.length !== texts.length) return false;
    cells.forEach((cell, i) => (cell.textContent = texts[i]));
    return true;
  }
  return false;
}

/** A short key of a summary's numbers, to skip redrawing what did not change. */
function summaryKey(summary) {
  if (!summary) return 'none';
  return JSON.stringify([summary.shape, summary.data ?? summary.head ?? null, summary.stats?.mean ?? null]);
}

/** The value a node shows, for tests and screen readers: its single number or its key. */
function valueKey(summary) {
  const shape = valueShape(summary);
  return shape.type === 'scalar' ? shape.text : summaryKey(summary);
}

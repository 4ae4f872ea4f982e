// Draws a laid-out graph as SVG, and updates what each step shows (classes only).
import { edgeGradTexts, gradsOf } from '../timeline.js';
import { isAccumulate, tensorName } from '../graph/model.js';
import { createCamera } from './camera.js';
import { frameFor, levelAt, zoomLevels } from './framing.js';
import { edgePath, midpoint } from './paths.js';
import { esc, gradBlockMarkup, groupBox, groupMarkup, opBox, opMarkup, scaleStops, tensorBox, tensorMarkup } from './nodeContent.js';
import { boxOfPoints, createCulling } from './culling.js';
import { createViewportLabels } from './viewportLabels.js';

const SVG_NS = 'http://www.w3.org/2000/svg';
/** Up to this many nodes: full content, edge labels, focusable nodes. */
export const DETAIL_UP_TO = 300;
/** Below this zoom the labels are unreadable anyway: hide them (level of detail). */
const LOD_SCALE = 0.4;
/** Only one-number gradients ride on edges; tensors' gradients stay in the nodes. */
const EDGE_LABEL_MAX = 10;

/** The label an op node shows. */
export function opLabel(index, op) {
  if (isAccumulate(op)) return `accumulate ${tensorName(index, op.variable)}`;
  return op.label || op.op;
}

/**
 * Sizes every node of a view, and the gradient labels of its edges.
 * @returns {{boxes: Map<string, object>, labels: Map<string, {text:string,width:number,height:number}>}}
 */
export function measureView(view, index) {
  const compact = view.nodes.length > DETAIL_UP_TO;
  const boxes = new Map();
  for (const node of view.nodes) {
    if (node.kind === 'tensor') {
      const name = tensorName(index, node.id);
      boxes.set(node.id, { ...tensorBox(node.data, gradsOf(index, node.id), { compact, name }), name });
    } else if (node.kind === 'op') {
      const label = opLabel(index, node.data);
      boxes.set(node.id, { ...opBox(node.data, label), label });
    } else {
      boxes.set(node.id, groupBox(node.data));
    }
  }
  const labels = new Map();
  if (!compact) {
    for (const edge of view.edges) {
      const original = edge.originals[0];
      if (edge.kind !== 'input' || edge.originals.length !== 1) continue;
      // The label is sized for the longest text it shows: the summed gradient or any one pass's.
      const texts = edgeGradTexts(index, original);
      if (!texts.length) continue;
      const longest = Math.max(...texts.map((text) => text.length));
      if (longest > EDGE_LABEL_MAX) continue;
      labels.set(edge.id, { text: texts[0], width: Math.ceil(longest * 9.6 + 18), height: 26 });
    }
  }
  return { boxes, labels };
}

/** Label sizes a reader should get on screen (px): at a desk, and across a classroom. */
export const READABLE_PX = { normal: 14, presenter: 20 };
/** The least scale a big graph's step is framed at (labels 17.6 px; fewer nodes to redraw per frame). */
const COMPACT_FRAME_SCALE = 0.8;
/** Room left around what the camera frames, in px. */
const FRAME_MARGIN = 16;

/**
 * @param {HTMLElement} container
 * @param {{onSelect:(id:string|null)=>void, onHover:(id:string|null)=>void, readablePx?: () => number}} handlers
 */
export function createSvgRenderer(container, handlers) {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('class', 'graph-svg');
  svg.setAttribute('xmlns', SVG_NS);
  svg.innerHTML = `${defsMarkup()}<g class="viewport"><g class="edges"></g><g class="edge-labels"></g><g class="nodes"></g><g class="lod-labels"></g></g>`;
  // What moves on every frame (dots, marching flows) lives in a layer of its own above the
  // graph: the browser then repaints that small layer, not thousands of nodes, each frame.
  const motion = document.createElementNS(SVG_NS, 'svg');
  motion.setAttribute('class', 'graph-motion');
  motion.setAttribute('aria-hidden', 'true');
  motion.innerHTML = '<g class="viewport"><g class="flows"></g><g class="dots"></g></g>';
  container.append(svg, motion);
  const viewport = svg.querySelector('.viewport');
  const motionViewport = motion.querySelector('.viewport');
  const layers = {
    edges: svg.querySelector('.edges'),
    labels: svg.querySelector('.edge-labels'),
    nodes: svg.querySelector('.nodes'),
    flows: motion.querySelector('.flows'),
    dots: motion.querySelector('.dots'),
  };
  const viewportSize = () => {
    const rect = svg.getBoundingClientRect();
    return { width: rect.width, height: rect.height };
  };
  const viewportLabels = createViewportLabels(svg.querySelector('.lod-labels'), viewportSize, LOD_SCALE);
  const culling = createCulling(viewportSize);
  const readablePx = () => handlers.readablePx?.() ?? READABLE_PX.normal;
  let levels = { full: 0, dots: 0 };
  let compactScene = false;
  let lastWant = null;
  /** The user pressed Fit: steps keep the whole graph in view. */
  let wholePinned = false;
  const camera = createCamera(svg, viewport, {
    onChange(view) {
      motionViewport.setAttribute('transform', viewport.getAttribute('transform') || '');
      showLevel(view);
    },
  });

  /** What nodes show at this zoom, by the size their labels get on screen. */
  function showLevel(view) {
    const level = compactScene ? 'full' : levelAt(view.k, levels);
    svg.classList.toggle('lod-names', level === 'names');
    svg.classList.toggle('lod-dots', level === 'dots');
    svg.classList.toggle('lod-far', compactScene && view.k < LOD_SCALE);
    // Names grow to the readable size (graphs drawn in full only: a big graph's labels are the
    // viewport layer's, and restyling thousands of nodes on every camera frame would cost fps).
    const want = compactScene ? '' : (readablePx() / Math.max(view.k, 1e-3)).toFixed(1);
    if (want !== lastWant) svg.style.setProperty('--want', (lastWant = want) || '0');
    viewportLabels.update(view);
    culling.update(view);
  }
  /** @type {{view:object, layout:object, nodeEls:Map<string,Element>, edgeEls:Map<string,Element>, labelEls:Map<string,Element>}|null} */
  let scene = null;

  installNodeEvents(svg, handlers);

  function draw(view, layout, measured, index) {
    layers.edges.innerHTML = edgesMarkup(view, layout);
    layers.labels.innerHTML = labelsMarkup(view, layout, measured.labels);
    layers.nodes.innerHTML = nodesMarkup(view, layout, measured.boxes, index, view.nodes.length <= DETAIL_UP_TO);
    layers.dots.innerHTML = '';
    layers.flows.innerHTML = '';
    const compact = view.nodes.length > DETAIL_UP_TO;
    if (compact) viewportLabels.setItems(labelItems(view, layout, measured.boxes));
    else viewportLabels.clear();
    scene = {
      view,
      layout,
      nodeEls: byData(layers.nodes, '.node', 'id'),
      edgeEls: byData(layers.edges, '.edge', 'id'),
      labelEls: byData(layers.labels, '.edge-label', 'edge'),
    };
    svg.classList.toggle('compact', compact);
    compactScene = compact;
    if (compact) culling.setItems(cullables(scene), camera.get());
    else culling.clear();
    scene.fits = view.nodes.map((node) => fitsOf(measured.boxes.get(node.id)));
    levels = levelsFor(readablePx());
    camera.release();
    wholePinned = false;
    showLevel(camera.get());
  }

  /** The scene's zoom thresholds for a readable size (worked out once per size). */
  function levelsFor(px) {
    if (scene.levelsPx !== px) {
      scene.levels = zoomLevels(scene.fits, px);
      // A big graph is framed a little closer: each camera frame redraws what is on screen.
      if (compactScene) scene.levels.full = Math.max(scene.levels.full, COMPACT_FRAME_SCALE);
      scene.levelsPx = px;
    }
    return scene.levels;
  }

  /** Neighbours of the given nodes (their inputs and outputs) with them. */
  function neighbourhood(ids) {
    const set = new Set(ids);
    for (const edge of scene?.view.edges ?? []) {
      if (ids.includes(edge.source)) set.add(edge.target);
      if (ids.includes(edge.target)) set.add(edge.source);
    }
    return [...set];
  }

  /**
   * Shows a step: the whole graph when it reads well, else the step with its inputs and
   * outputs; the user's own zoom and pan win until they press Fit.
   * @param {string[]} focusIds view node ids of the step @param {{animate?: boolean, opening?: boolean}} [options]
   */
  function follow(focusIds, { animate = false, opening = false } = {}) {
    if (!scene || camera.userMoved) return;
    if (wholePinned) return fit();
    levels = levelsFor(readablePx());
    const all = bounds();
    if (!all) return;
    const near = focusIds.length ? bounds(neighbourhood(focusIds)) : null;
    const frame = frameFor({ all, neighbourhood: near, size: camera.size(), levels, opening, margin: FRAME_MARGIN });
    // A step still in view at the zoom it wants: the camera stays (less motion to follow,
    // and a big graph is not redrawn on every frame of a camera move).
    if (!frame.whole && inView(frame.box, camera.get(), camera.size(), FRAME_MARGIN / 2, frame.minScale)) return;
    camera.show(frame.box, { minScale: frame.minScale, maxScale: frame.maxScale, margin: FRAME_MARGIN, animate });
    showLevel(camera.get());
  }

  /** Fit: the whole graph, kept while stepping until the user zooms or pans (or a new graph). */
  function fit() {
    camera.release();
    wholePinned = true;
    const all = bounds();
    if (all) camera.show(all, { margin: FRAME_MARGIN });
  }

  function bounds(ids) {
    if (!scene) return null;
    const boxes = (ids ?? Object.keys(scene.layout.nodes)).map((id) => scene.layout.nodes[id]).filter(Boolean);
    if (!boxes.length) return null;
    const x = Math.min(...boxes.map((b) => b.x));
    const y = Math.min(...boxes.map((b) => b.y));
    const right = Math.max(...boxes.map((b) => b.x + b.width));
    const bottom = Math.max(...boxes.map((b) => b.y + b.height));
    return { x, y, width: right - x, height: bottom - y };
  }

  /** Puts a gradient (a summary) in a tensor node's gradient block; unchanged keys are skipped. */
  function showGrad(viewId, summary, key) {
    const block = scene?.nodeEls.get(viewId)?.querySelector('.grad-block');
    if (!block || block.dataset.key === key) return;
    block.dataset.key = key;
    block.innerHTML = gradBlockMarkup(summary);
  }

  /** Sets the text an edge's gradient label shows. */
  function showEdgeLabel(viewEdgeId, text) {
    const el = scene?.labelEls.get(viewEdgeId)?.querySelector('text');
    if (el && el.textContent !== text) el.textContent = text;
  }

  return {
    svg,
    camera,
    draw,
    bounds,
    follow,
    fit,
    /** The layer above the graph for what moves on every frame (`.flows`, `.dots`). */
    motion,
    showGrad,
    showEdgeLabel,
    get scene() {
      return scene;
    },
    clear() {
      for (const layer of Object.values(layers)) layer.innerHTML = '';
      viewportLabels.clear();
      culling.clear();
      scene = null;
    },
  };
}

/** Every node, edge and edge label of a scene with its box in graph units. */
function cullables(scene) {
  const out = [];
  for (const [id, el] of scene.nodeEls) {
    const box = scene.layout.nodes[id];
    if (box) out.push({ el, x0: box.x, y0: box.y, x1: box.x + box.width, y1: box.y + box.height });
  }
  for (const [id, el] of scene.edgeEls) {
    const route = scene.layout.edges[id];
    if (route?.points?.length) out.push({ el, ...boxOfPoints(route.points) });
  }
  for (const [id, el] of scene.labelEls) {
    const route = scene.layout.edges[id];
    if (route?.points?.length) out.push({ el, ...boxOfPoints(route.points) });
  }
  return out;
}

/**
 * Whether a box of graph units is on screen with a margin, at a scale within 10% of want.
 * @param {{x:number,y:number,width:number,height:number}} box @param {{x:number,y:number,k:number}} view
 * @param {{w:number,h:number}} size @param {number} margin pixels @param {number} want
 */
function inView(box, view, size, margin, want) {
  if (Math.abs(view.k - want) > 0.1 * want) return false;
  const left = box.x * view.k + view.x;
  const top = box.y * view.k + view.y;
  return left >= margin && top >= margin
    && left + box.width * view.k <= size.w - margin && top + box.height * view.k <= size.h - margin;
}

/** The largest font each node's name may take: at full detail, and shown alone. */
function fitsOf(box) {
  if (!box?.fits) return { full: 22, name: 22 };
  return { full: box.fits.title ?? box.fits.full, name: box.fits.name };
}

/** What the viewport label layer draws for each node of a big graph. */
function labelItems(view, layout, boxes) {
  const items = [];
  for (const node of view.nodes) {
    const pos = layout.nodes[node.id];
    const box = boxes.get(node.id);
    if (!pos || !box) continue;
    const text = node.kind === 'tensor' ? box.name : node.kind === 'op' ? box.label : node.data.module;
    items.push({ id: node.id, x: pos.x, y: pos.y, width: pos.width, height: pos.height, kind: node.kind, text, meta: box.meta });
  }
  return items;
}

function byData(root, selector, key) {
  const map = new Map();
  for (const el of root.querySelectorAll(selector)) map.set(el.dataset[key], el);
  return map;
}

function defsMarkup() {
  const arrow = (id) => `<marker id="${id}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="14" markerHeight="14" markerUnits="userSpaceOnUse" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z"/></marker>`;
  const scale = `<linearGradient id="heat-scale">${scaleStops()}</linearGradient>`;
  return `<defs>${arrow('arrow')}${arrow('arrow-active')}${arrow('arrow-cut')}${scale}</defs>`;
}

function edgesMarkup(view, layout) {
  let out = '';
  for (const edge of view.edges) {
    const route = layout.edges[edge.id];
    if (!route) continue;
    const marker = edge.kind === 'cut' ? 'arrow-cut' : 'arrow';
    out += `<path class="edge kind-${edge.kind}" data-id="${esc(edge.id)}" d="${edgePath(route.points, route.curve)}" marker-end="url(#${marker})"/>`;
    if (edge.kind === 'cut') {
      const m = midpoint(route.points);
      out += `<circle class="cut-mark-bg" cx="${m.x}" cy="${m.y}" r="13"/><text class="cut-mark" x="${m.x}" y="${m.y + 6}" text-anchor="middle">✂</text>`;
    }
  }
  return out;
}

function labelsMarkup(view, layout, labels) {
  let out = '';
  for (const edge of view.edges) {
    const label = labels.get(edge.id);
    const route = layout.edges[edge.id];
    if (!label || !route) continue;
    const pos = route.label || { ...midpoint(route.points), width: label.width, height: label.height, centred: true };
    const x = pos.centred ? pos.x - label.width / 2 : pos.x;
    const y = pos.centred ? pos.y - label.height / 2 : pos.y;
    // The inner group grows about its centre when the zoom would make the number too small to read.
    out += `<g class="edge-label" data-edge="${esc(edge.id)}" transform="translate(${x.toFixed(1)},${y.toFixed(1)})"><g class="edge-label-body">`
      + `<rect width="${label.width}" height="${label.height}" rx="${label.height / 2}"/>`
      + `<text x="${label.width / 2}" y="${label.height / 2 + 6}" text-anchor="middle">${esc(label.text)}</text></g></g>`;
  }
  return out;
}

function nodesMarkup(view, layout, boxes, index, focusable) {
  let out = '';
  for (const node of view.nodes) {
    const pos = layout.nodes[node.id];
    const box = boxes.get(node.id);
    if (!pos || !box) continue;
    const classes = nodeClasses(node, index);
    const a11y = focusable ? ` tabindex="0" role="button" aria-label="${esc(accessibleName(node, box))}"` : '';
    out += `<g class="${classes}" data-id="${esc(node.id)}" transform="translate(${pos.x.toFixed(1)},${pos.y.toFixed(1)})"${a11y}>`;
    if (node.kind === 'tensor') out += tensorMarkup(node.data, box, box.name);
    else if (node.kind === 'op') out += opMarkup(node.data, box, box.label, !focusable);
    else out += groupMarkup(node.data, box);
    out += '</g>';
  }
  return out;
}

function nodeClasses(node, index) {
  const classes = ['node', node.kind];
  if (node.kind === 'tensor') {
    classes.push(`role-${node.data.role}`);
    if (node.data.detached) classes.push('detached');
  }
  if (node.kind === 'op' && isAccumulate(node.data)) classes.push('accumulate');
  if (node.id === index.graph.output) classes.push('is-output');
  return classes.join(' ');
}

function accessibleName(node, box) {
  if (node.kind === 'tensor') return `${box.name}, ${box.meta}`;
  if (node.kind === 'op') return `${box.label} (${node.data.op})`;
  return node.data.module;
}

function installNodeEvents(svg, handlers) {
  const nodeOf = (target) => target.closest?.('.node');
  svg.addEventListener('click', (event) => {
    if (svg.dataset.justPanned) {
      delete svg.dataset.justPanned;
      return;
    }
    handlers.onSelect(nodeOf(event.target)?.dataset.id ?? null);
  });
  svg.addEventListener('keydown', (event) => {
    const node = nodeOf(event.target);
    if (node && (event.key === 'Enter' || event.key === ' ')) {
      event.preventDefault();
      event.stopPropagation();
      handlers.onSelect(node.dataset.id);
    }
  });
  let hovered = null;
  svg.addEventListener('pointerover', (event) => {
    const id = nodeOf(event.target)?.dataset.id ?? null;
    if (id !== hovered) handlers.onHover((hovered = id));
  });
  svg.addEventListener('pointerleave', () => handlers.onHover((hovered = null)));
  svg.addEventListener('focusin', (event) => handlers.onHover(nodeOf(event.target)?.dataset.id ?? null));
}

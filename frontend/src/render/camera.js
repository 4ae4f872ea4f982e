// Zoom, pan and fit for the graph view; follows the active part of the graph until the
// user zooms or pans, and again once they press Fit.

const MIN_SCALE = 0.02;
const MAX_SCALE = 6;

/**
 * @param {SVGSVGElement} svg @param {SVGGElement} viewport
 * @param {{onChange?: (view:{x:number,y:number,k:number}) => void}} [hooks]
 */
export function createCamera(svg, viewport, hooks = {}) {
  let view = { x: 0, y: 0, k: 1 };
  let animation = 0;
  /** The user zoomed or panned: their view is kept between steps until Fit. */
  let userMoved = false;
  const reducedMotion = matchMedia('(prefers-reduced-motion: reduce)');

  function apply() {
    viewport.setAttribute('transform', `translate(${view.x.toFixed(1)},${view.y.toFixed(1)}) scale(${view.k.toFixed(4)})`);
    hooks.onChange?.(view);
  }

  function set(next, animate = false) {
    cancelAnimationFrame(animation);
    if (!animate || reducedMotion.matches) {
      view = next;
      apply();
      return;
    }
    const from = view;
    const start = performance.now();
    const duration = 350;
    const tick = (now) => {
      const p = Math.min(1, (now - start) / duration);
      const e = p < 0.5 ? 2 * p * p : 1 - (-2 * p + 2) ** 2 / 2;
      view = { x: from.x + (next.x - from.x) * e, y: from.y + (next.y - from.y) * e, k: from.k + (next.k - from.k) * e };
      apply();
      if (p < 1) animation = requestAnimationFrame(tick);
    };
    animation = requestAnimationFrame(tick);
  }

  function size() {
    const rect = svg.getBoundingClientRect();
    return { w: rect.width || 800, h: rect.height || 600 };
  }

  /** Zooms by factor around a point in screen coordinates (default: the centre); the user's own view. */
  function zoomBy(factor, at) {
    userMoved = true;
    const { w, h } = size();
    const p = at || { x: w / 2, y: h / 2 };
    const k = clamp(view.k * factor, MIN_SCALE, MAX_SCALE);
    set({ k, x: p.x - ((p.x - view.x) * k) / view.k, y: p.y - ((p.y - view.y) * k) / view.k });
  }

  /**
   * Shows a box of graph coordinates, as large as fits but within [minScale, maxScale].
   * @param {{x:number,y:number,width:number,height:number}} box
   */
  function show(box, { minScale = MIN_SCALE, maxScale = 1.6, margin = 40, animate = true } = {}) {
    const { w, h } = size();
    const fit = Math.min((w - 2 * margin) / Math.max(1, box.width), (h - 2 * margin) / Math.max(1, box.height));
    const k = clamp(Math.max(minScale, Math.min(fit, maxScale)), MIN_SCALE, MAX_SCALE);
    set({ k, x: w / 2 - (box.x + box.width / 2) * k, y: h / 2 - (box.y + box.height / 2) * k }, animate);
  }

  installPointer(svg, () => view, (next) => {
    userMoved = true;
    set(next);
  }, zoomBy);
  return {
    zoomBy,
    show,
    size,
    get: () => ({ ...view }),
    set,
    /** The user's own view as scale and centre (graph units), or null when the camera follows the steps. */
    userView() {
      if (!userMoved) return null;
      const { w, h } = size();
      return { k: view.k, cx: (w / 2 - view.x) / view.k, cy: (h / 2 - view.y) / view.k };
    },
    /** Restores a user's view (a share link's zoom): kept between steps like one they chose. */
    look({ k, cx, cy }) {
      const { w, h } = size();
      const scale = clamp(k, MIN_SCALE, MAX_SCALE);
      userMoved = true;
      set({ k: scale, x: w / 2 - cx * scale, y: h / 2 - cy * scale });
    },
    /** True once the user zoomed or panned; cleared by Fit or a new graph. */
    get userMoved() {
      return userMoved;
    },
    release() {
      userMoved = false;
    },
  };
}

function clamp(v, lo, hi) {
  return Math.max(lo, Math.min(hi, v));
}

/** Drag to pan, wheel or pinch to zoom. */
function installPointer(svg, getView, setView, zoomBy) {
  let drag = null;
  svg.addEventListener('pointerdown', (event) => {
    if (event.button !== 0) return;
    drag = { id: event.pointerId, x: event.clientX, y: event.clientY, view: getView(), moved: false };
  });
  svg.addEventListener('pointermove', (event) => {
    if (!drag || event.pointerId !== drag.id) return;
    const dx = event.clientX - drag.x;
    const dy = event.clientY - drag.y;
    if (!drag.moved && Math.hypot(dx, dy) < 4) return;
    if (!drag.moved) svg.setPointerCapture(event.pointerId);
    drag.moved = true;
    svg.classList.add('panning');
    setView({ ...drag.view, x: drag.view.x + dx, y: drag.view.y + dy });
  });
  const end = (event) => {
    if (!drag || event.pointerId !== drag.id) return;
    if (drag.moved) svg.dataset.justPanned = '1';
    drag = null;
    svg.classList.remove('panning');
  };
  svg.addEventListener('pointerup', end);
  svg.addEventListener('pointercancel', end);
  svg.addEventListener('wheel', (event) => {
    event.preventDefault();
    const rect = svg.getBoundingClientRect();
    zoomBy(Math.exp(-event.deltaY * (event.ctrlKey ? 0.01 : 0.0015)), { x: event.clientX - rect.left, y: event.clientY - rect.top });
  }, { passive: false });
}

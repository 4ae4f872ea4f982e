// A big graph draws only what is near the screen. The browser lays out, paints and
// layerizes every element of an SVG whenever anything in it changes, visible or not; on
// a 5,000-node graph that is most of each frame. Elements far outside the view get
// display="none"; like the viewport labels, the work is redone only when the view leaves
// the area last covered.

const MARGIN = 0.5;

/**
 * @typedef {{el: Element, x0: number, y0: number, x1: number, y1: number, shown?: boolean}} Cullable
 */

/** @param {() => {width:number, height:number}} viewportSize */
export function createCulling(viewportSize) {
  /** @type {Cullable[]} */
  let items = [];
  let covered = null;

  /** @param {{x:number, y:number, k:number}} view */
  function update(view) {
    if (!items.length) return;
    const { width, height } = viewportSize();
    if (covered && inside(areaOf(view, width, height, 0), covered)) return;
    const area = areaOf(view, width, height, MARGIN);
    for (const item of items) {
      const shown = !(item.x0 > area.x1 || item.y0 > area.y1 || item.x1 < area.x0 || item.y1 < area.y0);
      if (shown === item.shown) continue;
      item.shown = shown;
      if (shown) item.el.removeAttribute('display');
      else item.el.setAttribute('display', 'none');
    }
    covered = area;
  }

  return {
    /** @param {Cullable[]} next every element drawn, with its box in graph units @param {object} view */
    setItems(next, view) {
      items = next;
      covered = null;
      update(view);
    },
    update,
    clear() {
      items = [];
      covered = null;
    },
  };
}

/** The box of a polyline's points. @param {{x:number, y:number}[]} points */
export function boxOfPoints(points) {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const p of points) {
    x0 = Math.min(x0, p.x);
    y0 = Math.min(y0, p.y);
    x1 = Math.max(x1, p.x);
    y1 = Math.max(y1, p.y);
  }
  return { x0, y0, x1, y1 };
}

/** The graph area a view shows, grown by margin (a share of its size) on each side. */
export function areaOf(view, width, height, margin) {
  const w = width / view.k;
  const h = height / view.k;
  const x0 = -view.x / view.k - w * margin;
  const y0 = -view.y / view.k - h * margin;
  return { x0, y0, x1: x0 + w * (1 + 2 * margin), y1: y0 + h * (1 + 2 * margin) };
}

/** Whether area a lies within area b. */
export function inside(a, b) {
  return a.x0 >= b.x0 && a.y0 >= b.y0 && a.x1 <= b.x1 && a.y1 <= b.y1;
}

// Level of detail for big graphs: text only for the nodes inside the viewport, and
// none at all when zoomed far out. Laying out thousands of SVG text elements is what
// makes a 5,000-node SVG slow; a screenful of labels is cheap.
import { esc } from './nodeContent.js';

const MAX_LABELS = 600;
const MARGIN = 0.15;

/**
 * @param {SVGGElement} layer where the labels go (inside the viewport group)
 * @param {() => {width:number, height:number}} viewportSize
 * @param {number} minScale below this scale no text is drawn
 */
export function createViewportLabels(layer, viewportSize, minScale) {
  /** @type {{id:string, x:number, y:number, width:number, height:number, kind:string, text:string, meta?:string}[]} */
  let items = [];
  let frame = 0;
  let lastView = null;

  function render() {
    frame = 0;
    const view = lastView;
    if (!view || !items.length || view.k < minScale) {
      layer.replaceChildren();
      return;
    }
    const { width, height } = viewportSize();
    const x0 = -view.x / view.k - (width / view.k) * MARGIN;
    const y0 = -view.y / view.k - (height / view.k) * MARGIN;
    const x1 = x0 + (width / view.k) * (1 + 2 * MARGIN);
    const y1 = y0 + (height / view.k) * (1 + 2 * MARGIN);
    let out = '';
    let count = 0;
    for (const item of items) {
      if (item.x > x1 || item.y > y1 || item.x + item.width < x0 || item.y + item.height < y0) continue;
      out += labelMarkup(item);
      if (++count >= MAX_LABELS) break;
    }
    layer.innerHTML = out;
  }

  return {
    /** @param {typeof items} next */
    setItems(next) {
      items = next;
      update(lastView);
    },
    /** Call on every camera change; redraws once per frame at most. */
    update,
    clear() {
      items = [];
      layer.replaceChildren();
    },
  };

  function update(view) {
    lastView = view;
    if (!frame) frame = requestAnimationFrame(render);
  }
}

function labelMarkup(item) {
  if (item.kind === 'op') {
    return `<text class="t-op" x="${(item.x + item.width / 2).toFixed(1)}" y="${(item.y + item.height / 2 + 7).toFixed(1)}" text-anchor="middle">${esc(item.text)}</text>`;
  }
  return `<text class="t-title" x="${(item.x + 12).toFixed(1)}" y="${(item.y + 33).toFixed(1)}">${esc(item.text)}</text>`
    + `<text class="t-meta" x="${(item.x + 12).toFixed(1)}" y="${(item.y + 56).toFixed(1)}">${esc(item.meta || '')}</text>`;
}

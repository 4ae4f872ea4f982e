// Level of detail for big graphs: text only for the nodes inside the viewport, and
// none at all when zoomed far out. Laying out thousands of SVG text elements is what
// makes a 5,000-node SVG slow; a screenful of labels is cheap. The labels live in graph
// units, so a camera move redraws them only when the view leaves the area they cover.
import { areaOf, inside } from './culling.js';
import { esc } from './nodeContent.js';

const MAX_LABELS = 900;
const MARGIN = 0.3;

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
  /** The graph area whose labels are drawn (null: none, or not all of them fitted). */
  let covered = null;

  function render() {
    frame = 0;
    const view = lastView;
    if (!view || !items.length || view.k < minScale) {
      if (covered || layer.firstChild) layer.replaceChildren();
      covered = null;
      return;
    }
    const { width, height } = viewportSize();
    const seen = areaOf(view, width, height, 0);
    if (covered && inside(seen, covered)) return;
    const area = areaOf(view, width, height, MARGIN);
    let out = '';
    let count = 0;
    for (const item of items) {
      if (item.x > area.x1 || item.y > area.y1 || item.x + item.width < area.x0 || item.y + item.height < area.y0) continue;
      out += labelMarkup(item);
      if (++count >= MAX_LABELS) break;
    }
    layer.innerHTML = out;
    covered = count < MAX_LABELS ? area : null;
  }

  return {
    /** @param {typeof items} next */
    setItems(next) {
      items = next;
      covered = null;
      update(lastView);
    },
    /** Call on every camera change; redraws once per frame at most. */
    update,
    clear() {
      items = [];
      covered = null;
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

// What the camera shows for a step, and how much each node shows at a zoom level.
//
// A class follows a lesson best when it sees the whole graph and the step lights up in
// place; zooming onto each step hides where it is. So the whole graph is shown whenever
// its labels are readable at that size, and only otherwise does the camera frame the
// step with its inputs and outputs. What a node shows follows its size on screen: name
// and value, then the name alone (larger, centred), then a dot that names itself on hover.

/** Below this size on screen a typical name is no longer worth drawing: nodes become dots. */
const DOT_PX = 8;
/** The most the camera enlarges a small graph (graph units to pixels). */
export const MAX_SCALE = 1.6;

/**
 * Zoom thresholds of a drawn view, from the largest font each label may take.
 * @param {{full:number, name:number}[]} fits per node, in graph units
 * @param {number} readablePx the smallest label size a reader should get on screen
 * @returns {{full:number, dots:number}} scale at which every label is readable at full
 *   detail, and below which nodes are dots
 */
export function zoomLevels(fits, readablePx) {
  if (!fits.length) return { full: readablePx / 22, dots: 0 };
  const full = Math.max(...fits.map((f) => readablePx / f.full));
  const names = fits.map((f) => f.name).sort((a, b) => a - b);
  const median = names[Math.floor(names.length / 2)];
  return { full, dots: DOT_PX / median };
}

/** The level of detail for scale k: 'full', 'names' or 'dots'. */
export function levelAt(k, levels) {
  if (k >= levels.full * 0.999) return 'full';
  return k >= levels.dots ? 'names' : 'dots';
}

/**
 * The scale that fits a box in a viewport with a margin.
 * @param {{width:number,height:number}} box @param {{w:number,h:number}} size
 */
export function fitScale(box, size, margin) {
  return Math.min((size.w - 2 * margin) / Math.max(1, box.width), (size.h - 2 * margin) / Math.max(1, box.height));
}

/**
 * Where the camera goes for a step.
 * @param {{all: object, neighbourhood: object|null, size: {w:number,h:number}, levels: {full:number, dots:number},
 *          opening: boolean, margin: number}} input
 * @returns {{box: object, minScale: number, maxScale: number, whole: boolean}}
 */
export function frameFor({ all, neighbourhood, size, levels, opening, margin }) {
  const wholeScale = fitScale(all, size, margin);
  // The whole graph: when it is readable in full, and for the opening overview while its
  // names can still be read (a graph of thousands opens on its first step instead).
  if (wholeScale >= levels.full || (opening && wholeScale >= levels.dots) || !neighbourhood) {
    return { box: all, minScale: 0, maxScale: MAX_SCALE, whole: true };
  }
  // Readable, and not much closer: a steady zoom from step to step is easier to follow.
  const scale = Math.max(levels.full, Math.min(fitScale(neighbourhood, size, margin), levels.full * 1.3, MAX_SCALE));
  return { box: neighbourhood, minScale: scale, maxScale: scale, whole: false };
}

// Downloads: PNG and SVG of the graph, the graph JSON, and DOT from the API.
import { fetchExport } from '../api.js';

const MAX_PNG_SIDE = 8000;

/** The graph as a standalone SVG document (whole graph, styles inlined). */
export function standaloneSvg(svg, bounds, theme) {
  const clone = svg.cloneNode(true);
  const pad = 20;
  const width = Math.ceil(bounds.width + 2 * pad);
  const height = Math.ceil(bounds.height + 2 * pad);
  clone.setAttribute('width', String(width));
  clone.setAttribute('height', String(height));
  clone.setAttribute('viewBox', `0 0 ${width} ${height}`);
  clone.setAttribute('data-theme', theme);
  // The file shows everything at its own size, whatever the zoom on screen.
  clone.classList.remove('lod-far', 'lod-names', 'lod-dots', 'panning');
  clone.style.removeProperty('--want');
  clone.querySelector('.viewport').setAttribute('transform', `translate(${pad - bounds.x},${pad - bounds.y})`);
  // Nodes a big graph hides far off screen (render/culling.js) are all in the file.
  for (const el of clone.querySelectorAll('[display="none"]')) el.removeAttribute('display');
  const style = document.createElementNS('http://www.w3.org/2000/svg', 'style');
  style.textContent = graphCss();
  clone.insertBefore(style, clone.firstChild);
  const background = document.createElementNS('http://www.w3.org/2000/svg', 'rect');
  background.setAttribute('class', 'export-background');
  background.setAttribute('width', '100%');
  background.setAttribute('height', '100%');
  clone.insertBefore(background, style.nextSibling);
  return { text: new XMLSerializer().serializeToString(clone), width, height };
}

/** The CSS rules the graph needs: theme variables and every .graph-svg rule. */
function graphCss() {
  let css = '';
  for (const sheet of document.styleSheets) {
    let rules;
    try {
      rules = sheet.cssRules;
    } catch {
      continue;
    }
    for (const rule of rules) {
      const selector = rule.selectorText || '';
      if (selector.includes('graph-svg') || selector.includes(':root') || selector.includes('data-theme')) {
        css += `${rule.cssText.replace(/\.graph-svg/g, 'svg').replace(/:root|html\[data-theme/g, (m) => (m === ':root' ? 'svg' : 'svg[data-theme'))}\n`;
      }
    }
  }
  return css;
}

export function downloadBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function downloadSvg(svg, bounds, theme) {
  const { text } = standaloneSvg(svg, bounds, theme);
  downloadBlob(new Blob([text], { type: 'image/svg+xml' }), 'gradtrace-graph.svg');
}

export async function downloadPng(svg, bounds, theme) {
  const { text, width, height } = standaloneSvg(svg, bounds, theme);
  const scale = Math.min(2, MAX_PNG_SIDE / Math.max(width, height));
  const url = URL.createObjectURL(new Blob([text], { type: 'image/svg+xml' }));
  try {
    const image = new Image();
    image.src = url;
    await image.decode();
    const canvas = document.createElement('canvas');
    canvas.width = Math.round(width * scale);
    canvas.height = Math.round(height * scale);
    canvas.getContext('2d').drawImage(image, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/png'));
    downloadBlob(blob, 'gradtrace-graph.png');
  } finally {
    URL.revokeObjectURL(url);
  }
}

export function downloadJson(graph) {
  downloadBlob(new Blob([JSON.stringify(graph, null, 1)], { type: 'application/json' }), 'gradtrace-graph.json');
}

export async function downloadDot(request) {
  downloadBlob(await fetchExport(request, 'dot'), 'gradtrace-graph.dot');
}

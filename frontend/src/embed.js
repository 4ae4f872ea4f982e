// Entry of the notebook view: one self-contained page (an iframe `srcdoc` in Jupyter, or a saved
// .html file) that carries the graph JSON and the layout workers inline, so it needs no server.
// The page is built by gradtrace.export.app_html from dist/index.html; <html data-embed> keeps
// main.js from starting the server-backed app.
import { startEmbedded } from './main.js';

/** @returns {object} the JSON inside <script type="application/json" id=...>, or {} when absent */
function readJson(id) {
  const el = document.getElementById(id);
  return el ? JSON.parse(el.textContent || '{}') : {};
}

/* global __EMBED_FONT_CSS__ */
/** The Korean web font as data: URLs (build.mjs fills it in; the page may load no font file). */
function addFont() {
  const css = typeof __EMBED_FONT_CSS__ === 'string' ? __EMBED_FONT_CSS__ : '';
  if (!css) return;
  const style = document.createElement('style');
  style.id = 'gradtrace-fonts';
  style.textContent = css;
  document.head.append(style);
}

addFont();
const options = readJson('gradtrace-options');
startEmbedded(readJson('gradtrace-graph'), { lang: options.lang, step: options.step });

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

const options = readJson('gradtrace-options');
startEmbedded(readJson('gradtrace-graph'), { lang: options.lang, step: options.step });

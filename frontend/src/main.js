// The app: wires the editor, the API, layout, rendering, the timeline and the UI together.
import { BusyError, NetworkError, ProgramError, fetchDevices, fetchExamples, fetchGraph } from './api.js';
import { buildView, hasModules, indexGraph } from './graph/model.js';
import { applyToPage, browserLanguage, currentLang, pick, setLang, t } from './i18n.js';
import { warmUpElk } from './layout/elkClient.js';
import { layoutGraph } from './layout/index.js';
import { READABLE_PX, createSvgRenderer, measureView } from './render/svg.js';
import { getState, searchFromState, setState, stateFromSearch, subscribe } from './state.js';
import { buildTimeline, computedLater, iterationEnd } from './timeline.js';
import { createPlayer } from './animate.js';
import { createEditor } from './ui/editor.js';
import { createNarration } from './ui/narration.js';
import { createPanel } from './ui/panel.js';
import { createLossPlot } from './ui/lossPlot.js';
import { installKeyboard } from './ui/keyboard.js';
import { bindExampleList, fillDevices, fillExamples, fillLegend, releaseFocusAfterUse, setPressed } from './ui/toolbar.js';
import { downloadDot, downloadJson, downloadPng, downloadSvg } from './ui/downloads.js';
import { createCodeStrip } from './ui/codeStrip.js';

/** Camera scale floor: main labels (22 units) stay >= 17.6 px; in presenter mode every label >= 28 px. */
const MIN_LABEL_SCALE = { normal: 0.8, presenter: 1.75 };

const $ = (id) => document.getElementById(id);
/** A developer override for measuring (`?layout=elk` or `?layout=fast`); not part of share links. */
const LAYOUT_OVERRIDE = new URLSearchParams(location.search).get('layout');

const app = {
  graph: null,
  index: null,
  view: null,
  examples: [],
  runId: 0,
  selected: null,
  /** The iteration shown on its own (a position in backward_passes), or null: the whole loop. */
  pass: null,
  lastError: null,
  /** The user (or the link) chose collapse on or off: no automatic folding then. */
  collapseChosen: false,
  /** Module paths the user unfolded by clicking them (cleared by a new graph or the fold button). */
  open: new Set(),
  quietStateChange: false,
  /** The notebook view: a graph carried by the page, no server, no links. */
  embedded: false,
};

/** What `/` opens on a first visit: a lesson already run, ready to step. */
const FIRST_EXAMPLE = 'autograd-chain-rule';

/** Big graphs with modules open folded: one node per module is also the better first view. */
const AUTO_COLLAPSE_OVER = 300;

const editor = createEditor($('editor'), {
  label: 'Python program',
  onRun: () => run(),
  onSelectSource: (span) => highlightNodesForSpan(span),
  onChange: () => {},
});
const renderer = createSvgRenderer($('graph-view'), {
  onSelect: selectNode,
  onHover: hoverNode,
  // In presenter mode labels grow with the screen: a 4K projector's wall is no bigger than 1080p's.
  readablePx: () => (getState().present ? READABLE_PX.presenter * Math.max(1, innerHeight / 1080) : READABLE_PX.normal),
});
const narration = createNarration($('narration'));
const codeStrip = createCodeStrip($('code-strip'), { onJump: (step) => player.goTo(step, { animate: true }) });
const panel = createPanel($('panel-body'));
const lossPlot = createLossPlot($('loss-plot'), { onPick: showIteration });
const player = createPlayer({
  renderer,
  onStep: showStep,
  onPlayingChange: (playing) => {
    $('play').classList.toggle('playing', playing);
    $('play').setAttribute('aria-label', t(playing ? 'pause' : 'play'));
    $('play').dataset.i18nAria = playing ? 'pause' : 'play';
  },
  minScale: () => (getState().present ? MIN_LABEL_SCALE.presenter : MIN_LABEL_SCALE.normal),
});

function setStatus(status) {
  document.body.dataset.status = status;
}

// ---------------------------------------------------------------- running

async function run({ step = 0 } = {}) {
  const source = editor.getCode();
  const id = ++app.runId;
  const { device, lang } = getState();
  setState({ code: source });
  clearError();
  setStatus('running');
  $('run-button').disabled = true;
  try {
    const graph = await fetchGraph({ source, device, lang });
    if (id !== app.runId) return;
    autoCollapse(graph);
    await showGraph(graph, step);
    if (id !== app.runId) return;
    setStatus('ready');
  } catch (error) {
    if (id !== app.runId) return;
    showError(error);
    retireGraph();
    setStatus('error');
  } finally {
    if (id === app.runId) $('run-button').disabled = false;
  }
}

function autoCollapse(graph) {
  if (app.collapseChosen) return;
  app.quietStateChange = true;
  setState({ collapse: graph.nodes.length > AUTO_COLLAPSE_OVER && hasModules(graph) });
  app.quietStateChange = false;
}

/**
 * After an error, what is on screen belongs to an earlier program: grey the graph and say
 * so, and drop its printed output, narration and example title.
 */
function retireGraph() {
  $('graph-pane').classList.toggle('stale', !!app.graph);
  $('stale-label').hidden = !app.graph;
  $('printed-section').hidden = true;
  $('printed').textContent = '';
  $('step-hint').hidden = true;
  narration.show(null);
  const example = app.examples.find((e) => e.id === getState().example);
  if (example && example.source !== getState().code) {
    setState({ example: null });
    fillExamples($('example-select'), app.examples, null);
  }
}

function unretireGraph() {
  $('graph-pane').classList.remove('stale');
  $('stale-label').hidden = true;
}

async function showGraph(graph, step) {
  const received = performance.now();
  unretireGraph();
  app.graph = graph;
  app.open = new Set();
  app.index = indexGraph(graph, getState().code);
  app.selected = null;
  app.pass = null;
  lossPlot.show(graph);
  panel.show(null, null);
  $('panel-overview').hidden = false;
  $('printed-section').hidden = !graph.printed;
  $('printed').textContent = graph.printed || '';
  $('collapse-toggle').disabled = !hasModules(graph);
  await drawView();
  const steps = buildTimeline(app.index, { pass: app.pass });
  player.load(steps, app.view.alias, computedLater(app.index), app.index);
  loadCodeStrip(steps);
  updateScrubber(steps.length);
  showNotes();
  $('graph-empty').hidden = graph.nodes.length > 0;
  player.goTo(step);
  // A share link's zoom: the view its sender chose, kept between steps until Fit.
  if (app.pendingZoom) renderer.camera.look(app.pendingZoom);
  app.pendingZoom = null;
  await nextPaint();
  document.body.dataset.renderMs = String(Math.round(performance.now() - received));
}

function nextPaint() {
  return new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
}

/** Builds the current view (tensor/raw, collapsed or not), lays it out and draws it. */
async function drawView() {
  const { view: mode, collapse } = getState();
  const view = buildView(app.index, { view: mode, collapse: collapse && hasModules(app.graph), pass: app.pass, open: app.open });
  const measured = measureView(view, app.index);
  const nodes = view.nodes.map((n) => ({ id: n.id, width: measured.boxes.get(n.id).width, height: measured.boxes.get(n.id).height }));
  const edges = view.edges.map((e) => ({ id: e.id, source: e.source, target: e.target, label: measured.labels.get(e.id) }));
  const started = performance.now();
  const layout = await layoutGraph(nodes, edges, { engine: LAYOUT_OVERRIDE });
  const laidOut = performance.now();
  renderer.draw(view, layout, measured, app.index);
  app.view = view;
  document.body.dataset.layoutMs = String(Math.round(laidOut - started));
  document.body.dataset.drawMs = String(Math.round(performance.now() - laidOut));
  document.body.dataset.nodes = String(view.nodes.length);
}

async function redrawView() {
  if (!app.index) return;
  await drawView();
  const steps = buildTimeline(app.index, { pass: app.pass });
  player.load(steps, app.view.alias, computedLater(app.index), app.index);
  loadCodeStrip(steps);
  player.goTo(getState().step);
}

// ---------------------------------------------------------------- errors

function showError(error) {
  app.lastError = error;
  const box = $('error-box');
  box.replaceChildren();
  const message = document.createElement('p');
  message.className = 'error-message';
  if (error instanceof ProgramError) {
    const text = error.textIn(currentLang());
    message.textContent = text.message;
    if (error.line) {
      const where = document.createElement('p');
      where.className = 'error-where';
      where.textContent = t('errorAt', { line: error.line, col: error.col ?? 1 });
      box.append(where);
      editor.showError({ ...error, ...text, line: error.line, col: error.col, endLine: error.endLine, endCol: error.endCol });
    }
    box.append(message);
    if (text.hint) {
      const hint = document.createElement('p');
      hint.className = 'error-hint';
      hint.textContent = `${t('hint')}: ${text.hint}`;
      box.append(hint);
    }
    box.dataset.type = error.type;
  } else if (error instanceof BusyError) {
    message.textContent = t(error.fromThisComputer ? 'errorTooMany' : 'errorBusy', { seconds: error.retryAfter });
    box.append(message);
  } else if (error instanceof NetworkError) {
    message.textContent = t('errorNetwork');
    box.append(message);
  } else {
    message.textContent = error.status === 422 ? t('errorMalformed') : t('errorLayout', { message: error.message });
    box.append(message);
    console.warn(error);
  }
  box.hidden = false;
}

/** The server's notes about the graph (e.g. why there is no autograd graph), in the UI language. */
function showNotes() {
  const notes = (app.graph?.notes || []).map((note) => pick(note.message)).filter(Boolean);
  const paragraphs = () => notes.map((text) => Object.assign(document.createElement('p'), { textContent: text }));
  $('notes').hidden = !notes.length;
  $('notes').replaceChildren(...paragraphs());
  // With a graph drawn, the notes sit in the side panel (when it is shown) rather than over the graph.
  $('notes').classList.toggle('also-in-panel', !!app.graph?.nodes.length);
  $('panel-notes-section').hidden = !notes.length;
  $('panel-notes').replaceChildren(...paragraphs());
  if (app.graph && !app.graph.nodes.length) $('graph-empty').textContent = notes[0] || t('emptyGraph');
}

function clearError() {
  app.lastError = null;
  $('error-box').hidden = true;
  editor.clearError();
}

/** An iteration picked on the loss plot: its own graph and steps (null: the whole loop again). */
async function showIteration(pass) {
  if (!app.index) return;
  app.pass = pass;
  lossPlot.setPicked(pass);
  setState({ step: 0 });
  await redrawView();
  // One iteration opens on its values and gradients: its backward done, before the updates after it.
  if (pass !== null) player.goTo(iterationEnd(buildTimeline(app.index, { pass })));
}

// ---------------------------------------------------------------- steps

/** The source line a step belongs to: its op's, else its first focused node's. */
function stepLine(step) {
  const ids = [step.op, ...(step.focus || [])].filter(Boolean);
  for (const id of ids) {
    const line = app.index?.nodes.get(id)?.span?.line;
    if (line) return line;
  }
  return null;
}

function loadCodeStrip(steps) {
  app.stepLines = steps.map(stepLine);
  codeStrip.load(getState().code, app.stepLines);
}

function showStep(index, step) {
  narration.show(step);
  lossPlot.setCurrent(step);
  codeStrip.show(app.stepLines?.[index] ?? null);
  // The editor lights the current step's source too, unless a node is selected.
  if (!app.selected) editor.highlight(step.op ? spansOf(step.op) : []);
  if (index > 0) $('step-hint').hidden = true;
  $('scrubber').value = String(index);
  $('step-counter').textContent = t('stepOf', { step: index, total: player.count - 1 });
  $('scrubber').setAttribute('aria-valuetext', $('narration').textContent);
  setState({ step: index });
}

function updateScrubber(count) {
  $('scrubber').max = String(Math.max(0, count - 1));
}

// ---------------------------------------------------------------- selection and source links

function selectNode(id) {
  if (id?.startsWith('module:')) {  // a folded module opens one level
    app.open.add(id.slice('module:'.length));
    redrawView();
    return;
  }
  app.selected = id;
  for (const el of renderer.svg.querySelectorAll('.node.selected')) el.classList.remove('selected');
  if (id) renderer.scene?.nodeEls.get(id)?.classList.add('selected');
  panel.show(app.index, id && app.index?.nodes.has(id) ? id : null);
  // Nothing selected: the panel shows the program's printed output and the graph's notes.
  $('panel-overview').hidden = !!id;
  if (id) hoverNode(id);
}

function hoverNode(id) {
  const ids = id ? [id] : app.selected ? [app.selected] : [];
  editor.highlight(ids.flatMap(spansOf));
}

/** Source spans of a node: its own, and for a tensor also the op that made it. */
function spansOf(id) {
  const node = app.index?.nodes.get(id);
  if (!node) return [];
  const spans = [node.span];
  if (node.kind === 'tensor' && node.grad_fn) spans.push(app.index.nodes.get(node.grad_fn)?.span);
  return spans.filter(Boolean);
}

function highlightNodesForSpan(span) {
  for (const el of renderer.svg.querySelectorAll('.node.source-match')) el.classList.remove('source-match');
  if (!span || !app.index || !app.view) return;
  for (const node of app.graph.nodes) {
    if (node.span && overlaps(node.span, span)) renderer.scene?.nodeEls.get(app.view.alias.get(node.id))?.classList.add('source-match');
  }
}

function overlaps(a, b) {
  const before = (l1, c1, l2, c2) => l1 < l2 || (l1 === l2 && c1 <= c2);
  return before(a.line, a.col, b.end_line, b.end_col - 1) && before(b.line, b.col, a.end_line, a.end_col - 1);
}

// ---------------------------------------------------------------- state → page

function applyPresentation(state) {
  document.documentElement.dataset.theme = state.theme;
  document.body.classList.toggle('presenter', state.present);
  setPressed($('present-toggle'), state.present);
  setPressed($('theme-toggle'), state.theme === 'dark');
  setPressed($('view-toggle'), state.view === 'raw');
  setPressed($('collapse-toggle'), state.collapse);
  $('lang-select').value = state.lang;
  $('speed-select').value = String(state.speed);
  player.setSpeed(state.speed);
}

function applyLanguage() {
  setLang(getState().lang);
  editor.setLabel(t('editorLabel'));
  fillLegend($('legend'));
  fillExamples($('example-select'), app.examples, getState().example);
  narration.refresh();
  lossPlot.refresh();
  panel.refresh();
  showNotes();
  if (player.count) $('step-counter').textContent = t('stepOf', { step: player.current, total: player.count - 1 });
  $('play').setAttribute('aria-label', t(player.playing ? 'pause' : 'play'));
}

let urlTimer = 0;
function syncUrl() {
  if (app.embedded) return;
  clearTimeout(urlTimer);
  urlTimer = setTimeout(async () => {
    const state = getState();
    const example = app.examples.find((e) => e.id === state.example);
    const search = await searchFromState(state, { exampleSource: example?.source, zoom: renderer.camera.userView() });
    history.replaceState(null, '', `${location.pathname}${search}`);
  }, 150);
}

async function shareLink() {
  const state = getState();
  const example = app.examples.find((e) => e.id === state.example);
  const url = `${location.origin}${location.pathname}${await searchFromState(state, { exampleSource: example?.source, zoom: renderer.camera.userView() })}`;
  $('copy-link').dataset.link = url;
  try {
    await navigator.clipboard.writeText(url);
    toast(t('linkCopied'));
  } catch {
    toast(url);
  }
}

let toastTimer = 0;
function toast(text) {
  const el = $('toast');
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (el.hidden = true), 4000);
}

subscribe((state, changed) => {
  applyPresentation(state);
  if (changed.includes('lang')) {
    applyLanguage();
    // An error carries both languages: re-render it; an older server's error is asked again.
    if (app.lastError instanceof ProgramError) {
      if (app.lastError.messages) showError(app.lastError);
      else run();
    } else if (app.lastError && !(app.lastError instanceof ProgramError)) showError(app.lastError);
  }
  if ((changed.includes('view') || changed.includes('collapse')) && !app.quietStateChange) redrawView();
  // A new layout: the camera frames the step afresh (a zoom chosen for the other layout is dropped).
  if (changed.includes('present')) requestAnimationFrame(() => {
    renderer.camera.release();
    player.follow();
  });
  syncUrl();
});

// ---------------------------------------------------------------- controls

function bindControls() {
  $('run-button').addEventListener('click', () => run());
  $('device-select').addEventListener('change', (e) => setState({ device: e.target.value }));
  $('lang-select').addEventListener('change', (e) => setState({ lang: e.target.value }));
  bindExampleList($('example-select'), (id) => openExample(id));
  releaseFocusAfterUse([$('speed-select'), $('lang-select'), $('device-select'), $('example-select'), $('scrubber')], () => getState().present);
  $('view-toggle').addEventListener('click', () => setState({ view: getState().view === 'raw' ? 'tensor' : 'raw' }));
  $('collapse-toggle').addEventListener('click', () => {
    app.collapseChosen = true;
    app.open = new Set();
    setState({ collapse: !getState().collapse });
  });
  $('present-toggle').addEventListener('click', () => setState({ present: !getState().present }));
  $('theme-toggle').addEventListener('click', () => setState({ theme: getState().theme === 'dark' ? 'light' : 'dark' }));
  $('copy-link').addEventListener('click', shareLink);
  $('play').addEventListener('click', () => player.toggle());
  $('step-forward').addEventListener('click', () => player.next());
  $('step-back').addEventListener('click', () => player.prev());
  $('restart').addEventListener('click', () => player.restart());
  $('scrubber').addEventListener('input', (e) => player.goTo(Number(e.target.value)));
  $('speed-select').addEventListener('change', (e) => setState({ speed: Number(e.target.value) }));
  $('zoom-in').addEventListener('click', () => renderer.camera.zoomBy(1.25));
  $('zoom-out').addEventListener('click', () => renderer.camera.zoomBy(0.8));
  $('zoom-fit').addEventListener('click', fitGraph);
  $('fullscreen').addEventListener('click', toggleFullscreen);
  for (const button of document.querySelectorAll('[data-download]')) {
    button.addEventListener('click', () => download(button.dataset.download));
  }
  installKeyboard({
    toggle: () => player.toggle(),
    next: () => player.next(),
    prev: () => player.prev(),
    restart: () => player.restart(),
    end: () => player.goTo(player.count - 1),
    zoomIn: () => renderer.camera.zoomBy(1.25),
    zoomOut: () => renderer.camera.zoomBy(0.8),
    fit: fitGraph,
    fullscreen: toggleFullscreen,
  }, { presenting: () => getState().present });
  addEventListener('resize', () => player.count && player.follow());
}

function fitGraph() {
  renderer.fit();
}

function toggleFullscreen() {
  if (document.fullscreenElement) document.exitFullscreen();
  else document.documentElement.requestFullscreen?.().catch(() => {});
}

async function download(format) {
  $('download-menu').open = false;
  if (!app.graph) return;
  const bounds = renderer.bounds();
  const theme = getState().theme;
  if (format === 'png') await downloadPng(renderer.svg, bounds, theme);
  else if (format === 'svg') downloadSvg(renderer.svg, bounds, theme);
  else if (format === 'json') downloadJson(app.graph);
  else if (format === 'dot') await downloadDot({ source: getState().code, device: getState().device, lang: currentLang() }).catch(showError);
}

function openExample(id, { step = 0 } = {}) {
  const example = app.examples.find((e) => e.id === id);
  if (!example) return false;
  editor.setCode(example.source);
  const patch = { example: id };
  if (example.device && example.device !== 'auto' && [...$('device-select').options].some((o) => o.value === example.device)) patch.device = example.device;
  setState(patch);
  run({ step });
  return true;
}

// ---------------------------------------------------------------- start

async function loadMenus() {
  const [devices, examples] = await Promise.allSettled([fetchDevices(), fetchExamples()]);
  if (devices.status === 'fulfilled') {
    const ids = devices.value.devices.map((d) => d.id);
    const wanted = ids.includes(getState().device) ? getState().device : devices.value.defaultId;
    fillDevices($('device-select'), devices.value.devices, wanted);
    setState({ device: wanted });
  }
  if (examples.status === 'fulfilled') app.examples = examples.value;
  fillExamples($('example-select'), app.examples, getState().example);
}

async function start() {
  const { zoom, ...fromUrl } = await stateFromSearch(location.search);
  app.pendingZoom = zoom ?? null;
  app.collapseChosen = 'collapse' in fromUrl;
  setState({ lang: browserLanguage(), ...fromUrl });
  applyPresentation(getState());
  applyLanguage();
  applyToPage(document);
  bindControls();
  warmUpElk();
  await loadMenus();
  applyLanguage();
  const { step } = getState();
  if (fromUrl.code) {
    editor.setCode(fromUrl.code);
    await run({ step });
  } else if (fromUrl.example && openExample(fromUrl.example, { step })) {
    // opened the prepared demo
  } else if (app.examples.length) {
    // A first visit: a lesson already run, with a line saying how to step through it.
    const first = app.examples.find((e) => e.id === FIRST_EXAMPLE) ?? app.examples[0];
    $('step-hint').hidden = false;
    openExample(first.id, { step });
  }
  if (document.body.dataset.status === undefined) setStatus('idle');
}

/**
 * The notebook view (embed.js): the same viewer started from a graph the page carries
 * instead of a program sent to /api/graph; the page hides what needs a server.
 * @param {object} graph the graph JSON @param {{lang?: string, step?: number}} [options]
 */
export async function startEmbedded(graph, { lang = 'en', step = 0 } = {}) {
  app.embedded = true;
  setState({ lang: lang === 'ko' ? 'ko' : 'en' });
  applyPresentation(getState());
  applyLanguage();
  applyToPage(document);
  bindControls();
  try {
    autoCollapse(graph);
    await showGraph(graph, step);
    setStatus('ready');
  } catch (error) {
    showError(error);
    setStatus('error');
  }
}

// An embedded page (<html data-embed>) is started by embed.js with its own graph.
if (!document.documentElement.hasAttribute('data-embed')) start();

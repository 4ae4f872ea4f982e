// Filling the menus and reflecting state on the toolbar buttons.
import { pick, t } from '../i18n.js';

/** @param {HTMLSelectElement} select @param {{id:string, name?:string}[]} devices @param {string} selected */
export function fillDevices(select, devices, selected) {
  select.replaceChildren(
    ...devices.map((d) => {
      const option = new Option(d.name && d.name !== d.id ? `${d.id} — ${d.name}` : d.id, d.id);
      option.selected = d.id === selected;
      return option;
    }),
  );
}

/** Examples grouped by chapter, titles in the UI language. */
export function fillExamples(select, examples, selectedId) {
  const placeholder = new Option(t('chooseExample'), '');
  const groups = new Map();
  for (const example of examples) {
    const chapter = pick(example.chapter_title) || String(example.chapter ?? '');
    if (!groups.has(chapter)) {
      const group = document.createElement('optgroup');
      group.label = chapter;
      groups.set(chapter, group);
    }
    const option = new Option(pick(example.title) || example.id, example.id);
    option.selected = example.id === selectedId;
    groups.get(chapter).append(option);
  }
  placeholder.selected = !selectedId;
  select.replaceChildren(placeholder, ...groups.values());
}

/** A toggle button's pressed state. */
export function setPressed(button, pressed) {
  button.setAttribute('aria-pressed', String(!!pressed));
}

/** The colour key of the graph: shapes and colours for each kind of node. */
export function fillLegend(el) {
  const items = [
    ['leaf', 'legendLeaf'],
    ['param', 'legendParam'],
    ['constant', 'legendConstant'],
    ['intermediate', 'legendIntermediate'],
    ['output', 'legendOutput'],
    ['op', 'legendOp'],
    ['cut', 'legendCut'],
    ['flow', 'legendFlow'],
  ];
  el.replaceChildren(
    ...items.map(([kind, key]) => {
      const item = document.createElement('span');
      item.className = 'legend-item';
      const swatch = document.createElement('span');
      swatch.className = `swatch swatch-${kind}`;
      swatch.setAttribute('aria-hidden', 'true');
      item.append(swatch, document.createTextNode(t(key)));
      return item;
    }),
  );
}

const MOVE_KEYS = new Set(['ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight', 'PageUp', 'PageDown', 'Home', 'End']);

/**
 * The Examples list opens a lesson on a click or Enter only: arrowing through the closed
 * list moves the choice without running every example it passes.
 * @param {HTMLSelectElement} select @param {(id: string) => void} open
 */
export function bindExampleList(select, open) {
  let lastMove = 0;
  select.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') {
      event.preventDefault();
      if (select.value) open(select.value);
    } else if (MOVE_KEYS.has(event.key)) lastMove = performance.now();
  });
  select.addEventListener('change', () => {
    if (performance.now() - lastMove < 400) return;
    if (select.value) open(select.value);
  });
}

/**
 * In presenter mode a list or the slider gives the focus back after use, so a clicker's
 * next key steps the lesson instead of changing them.
 * @param {HTMLElement[]} controls @param {() => boolean} presenting
 */
export function releaseFocusAfterUse(controls, presenting) {
  for (const control of controls) {
    control.addEventListener('change', () => {
      if (presenting() && document.activeElement === control) control.blur();
    });
  }
}

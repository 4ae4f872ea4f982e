// The narration line under the graph: what the current step does, in the UI language.
import { t } from '../i18n.js';

/** @param {HTMLElement} el */
export function createNarration(el) {
  let lines = [];
  let phase = '';
  function render() {
    el.replaceChildren(
      ...lines.map((line, i) => {
        const p = document.createElement('p');
        p.className = i === 0 ? 'narration-main' : 'narration-detail';
        p.textContent = t(line.key, line.params);
        return p;
      }),
    );
    el.dataset.phase = phase;
  }
  return {
    /** @param {{phase:string, narration:{key:string, params?:object}[]}|null} step */
    show(step) {
      lines = step ? step.narration : [];
      phase = step ? step.phase : '';
      render();
    },
    refresh: render,
  };
}

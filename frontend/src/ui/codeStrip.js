// The program beside the graph in presenter mode: one row per line, the line of the
// current step highlighted as the timeline moves; clicking a line jumps to its first step.

/**
 * @param {HTMLOListElement} list
 * @param {{onJump: (stepIndex: number) => void}} handlers
 */
export function createCodeStrip(list, { onJump }) {
  /** line number → index of its first step */
  let firstStep = new Map();
  let current = null;

  list.addEventListener('click', (event) => {
    const row = event.target.closest?.('li[data-line]');
    const step = row && firstStep.get(Number(row.dataset.line));
    if (step === undefined || step === null) return;
    onJump(step);
    // A clicked line must not keep the focus: a clicker's keys belong to the timeline.
    if (document.activeElement instanceof HTMLElement && list.contains(document.activeElement)) document.activeElement.blur();
  });

  return {
    /**
     * @param {string} source the program
     * @param {(number|null)[]} stepLines the source line of each step (null when none)
     */
    load(source, stepLines) {
      firstStep = new Map();
      stepLines.forEach((line, index) => {
        if (line && !firstStep.has(line)) firstStep.set(line, index);
      });
      list.replaceChildren(...source.replace(/\n$/, '').split('\n').map((text, i) => row(text, i + 1, firstStep.has(i + 1))));
      current = null;
    },
    /** Highlights the line of the current step (or none). */
    show(line) {
      if (line === current) return;
      list.querySelector('li.current')?.classList.remove('current');
      current = line;
      const el = line ? list.querySelector(`li[data-line="${line}"]`) : null;
      if (!el) return;
      el.classList.add('current');
      el.scrollIntoView({ block: 'nearest' });
    },
    clear() {
      list.replaceChildren();
      firstStep = new Map();
      current = null;
    },
  };
}

function row(text, line, jumps) {
  const li = document.createElement('li');
  li.dataset.line = String(line);
  if (jumps) li.classList.add('jumps');
  const number = document.createElement('span');
  number.className = 'line-no';
  number.textContent = String(line);
  const code = document.createElement('code');
  code.textContent = text || ' ';
  li.append(number, code);
  return li;
}

// Keyboard shortcuts for the player and the view (presentation clickers send PageUp/PageDown).
//
// A clicker must drive the lesson whatever has the focus: in presenter mode the stepping
// keys are taken before any list, slider or button sees them. Outside presenter mode the
// form controls keep their own keys, except that PageUp/PageDown on a list never change it
// (on the Examples list that would open another lesson).

const STEP_KEYS = new Set(['ArrowRight', 'ArrowLeft', 'ArrowUp', 'ArrowDown', 'PageDown', 'PageUp', ' ', 'Spacebar', 'Home', 'End']);

/**
 * @param {{toggle:()=>void, next:()=>void, prev:()=>void, restart:()=>void, end:()=>void,
 *          zoomIn:()=>void, zoomOut:()=>void, fit:()=>void, fullscreen:()=>void}} actions
 * @param {{presenting: () => boolean}} mode
 */
export function installKeyboard(actions, mode = { presenting: () => false }) {
  // Capture phase: in presenter mode a clicker's key reaches the timeline before the focused control.
  document.addEventListener('keydown', (event) => {
    if (!mode.presenting() || modified(event) || !STEP_KEYS.has(event.key) || isTyping(event.target, false)) return;
    event.preventDefault();
    event.stopPropagation();
    if (!event.repeat || event.key !== ' ') actions[presenterAction(event.key)]();
  }, true);
  // A Space taken above must not click the focused button when it is released.
  document.addEventListener('keyup', (event) => {
    if (mode.presenting() && (event.key === ' ' || event.key === 'Spacebar') && !isTyping(event.target, false)) event.preventDefault();
  }, true);
  document.addEventListener('keydown', (event) => {
    if (event.defaultPrevented || modified(event)) return;
    if (isList(event.target) && (event.key === 'PageDown' || event.key === 'PageUp')) {
      event.preventDefault();
      return;
    }
    if (isTyping(event.target, true)) return;
    const action = actionFor(event.key, event.target);
    if (!action) return;
    event.preventDefault();
    actions[action]();
  });
}

function modified(event) {
  return event.altKey || event.ctrlKey || event.metaKey;
}

function presenterAction(key) {
  switch (key) {
    case 'ArrowRight':
    case 'ArrowDown':
    case 'PageDown':
      return 'next';
    case 'ArrowLeft':
    case 'ArrowUp':
    case 'PageUp':
      return 'prev';
    case 'Home':
      return 'restart';
    case 'End':
      return 'end';
    default:
      return 'toggle';
  }
}

function actionFor(key, target) {
  switch (key) {
    case ' ':
    case 'Spacebar':
      return isButtonLike(target) ? null : 'toggle';
    case 'ArrowRight':
    case 'PageDown':
      return target?.type === 'range' ? null : 'next';
    case 'ArrowLeft':
    case 'PageUp':
      return target?.type === 'range' ? null : 'prev';
    case 'Home':
      return target?.type === 'range' ? null : 'restart';
    case 'End':
      return target?.type === 'range' ? null : 'end';
    case 'f':
    case 'F':
      return 'fullscreen';
    case '+':
    case '=':
      return 'zoomIn';
    case '-':
    case '_':
      return 'zoomOut';
    case '0':
      return 'fit';
    default:
      return null;
  }
}

/** Where keys type text: the editor and text fields (and, outside presenter mode, lists). */
function isTyping(target, listsToo) {
  if (!(target instanceof Element)) return false;
  const text = target.closest('.cm-editor, input[type="text"], textarea, [contenteditable="true"]');
  return !!text || (listsToo && isList(target));
}

function isList(target) {
  return target instanceof Element && target.tagName === 'SELECT';
}

function isButtonLike(target) {
  return target instanceof Element && !!target.closest('button, summary, [role="button"], a');
}

// Keyboard shortcuts for the player and the view (presentation clickers send PageUp/PageDown).

/**
 * @param {{toggle:()=>void, next:()=>void, prev:()=>void, restart:()=>void, end:()=>void,
 *          zoomIn:()=>void, zoomOut:()=>void, fit:()=>void, fullscreen:()=>void}} actions
 */
export function installKeyboard(actions) {
  document.addEventListener('keydown', (event) => {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
    if (isTyping(event.target)) return;
    const action = actionFor(event.key, event.target);
    if (!action) return;
    event.preventDefault();
    actions[action]();
  });
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

function isTyping(target) {
  if (!(target instanceof Element)) return false;
  return !!target.closest('.cm-editor, input[type="text"], textarea, select, [contenteditable="true"]');
}

function isButtonLike(target) {
  return target instanceof Element && !!target.closest('button, summary, [role="button"], a');
}

// The code editor (CodeMirror 6): Python highlighting, line numbers, error underlines,
// source-range highlights for the node under the pointer, Ctrl/Cmd+Enter to run.
import { basicSetup } from 'codemirror';
import { python } from '@codemirror/lang-python';
import { setDiagnostics } from '@codemirror/lint';
import { HighlightStyle, syntaxHighlighting } from '@codemirror/language';
import { EditorState, StateEffect, StateField } from '@codemirror/state';
import { tags } from '@lezer/highlight';
import { Decoration, EditorView, keymap } from '@codemirror/view';

/**
 * Token colours from the theme's variables (styles/theme.css), so the dark theme has its
 * own, each at 4.5:1 or better against the editor's background.
 */
const tokenColours = HighlightStyle.define([
  { tag: tags.keyword, color: 'var(--tok-keyword)' },
  { tag: [tags.atom, tags.bool, tags.null, tags.self], color: 'var(--tok-atom)' },
  { tag: [tags.number, tags.literal], color: 'var(--tok-number)' },
  { tag: [tags.string, tags.special(tags.string), tags.escape], color: 'var(--tok-string)' },
  { tag: tags.comment, color: 'var(--tok-comment)', fontStyle: 'italic' },
  { tag: [tags.definition(tags.variableName), tags.function(tags.definition(tags.variableName))], color: 'var(--tok-def)' },
  { tag: [tags.typeName, tags.className, tags.namespace], color: 'var(--tok-type)' },
  { tag: [tags.special(tags.variableName), tags.macroName, tags.propertyName], color: 'var(--tok-special)' },
  { tag: [tags.operator, tags.punctuation, tags.bracket], color: 'var(--fg)' },
  { tag: tags.invalid, color: 'var(--error)' },
]);

const setHighlights = StateEffect.define();
const highlightMark = Decoration.mark({ class: 'cm-node-source' });

const highlightField = StateField.define({
  create: () => Decoration.none,
  update(value, tr) {
    let next = value.map(tr.changes);
    for (const effect of tr.effects) if (effect.is(setHighlights)) next = effect.value;
    return next;
  },
  provide: (field) => EditorView.decorations.from(field),
});

/**
 * @param {HTMLElement} parent
 * @param {{onRun: () => void, onSelectSource: (span: {line:number,col:number,end_line:number,end_col:number}|null) => void, onChange: () => void, label: string}} handlers
 */
export function createEditor(parent, handlers) {
  const runKey = keymap.of([{ key: 'Mod-Enter', preventDefault: true, run: () => (handlers.onRun(), true) }]);
  let selectionTimer = 0;
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: '',
      extensions: [
        runKey,
        basicSetup,
        python(),
        syntaxHighlighting(tokenColours),
        highlightField,
        EditorView.contentAttributes.of({ 'aria-label': handlers.label }),
        EditorView.updateListener.of((update) => {
          if (update.docChanged) handlers.onChange();
          if (update.selectionSet) {
            clearTimeout(selectionTimer);
            selectionTimer = setTimeout(() => handlers.onSelectSource(selectedSpan(update.state)), 120);
          }
        }),
      ],
    }),
  });

  return {
    view,
    getCode: () => view.state.doc.toString(),
    setCode(code) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: code } });
    },
    /** Underlines the error's range and shows the message at that line. */
    showError(error) {
      const range = spanToRange(view.state.doc, error.line, error.col, error.endLine, error.endCol);
      if (!range) return;
      const message = error.hint ? `${error.message}\n${error.hint}` : error.message;
      view.dispatch(setDiagnostics(view.state, [{ from: range.from, to: range.to, severity: 'error', message }]));
      view.dispatch({ selection: { anchor: range.from }, scrollIntoView: true });
    },
    clearError() {
      view.dispatch(setDiagnostics(view.state, []));
    },
    /** @param {{line:number,col:number,end_line:number,end_col:number}[]} spans */
    highlight(spans) {
      const ranges = spans
        .map((s) => spanToRange(view.state.doc, s.line, s.col, s.end_line, s.end_col))
        .filter((r) => r && r.to > r.from)
        .sort((a, b) => a.from - b.from)
        .map((r) => highlightMark.range(r.from, r.to));
      view.dispatch({ effects: setHighlights.of(Decoration.set(ranges)) });
    },
    setLabel(label) {
      view.contentDOM.setAttribute('aria-label', label);
    },
    focus: () => view.focus(),
  };
}

/** 1-based line and character column (end exclusive) to document offsets. */
function spanToRange(doc, line, col, endLine, endCol) {
  if (!line || line < 1 || line > doc.lines) return null;
  const start = doc.line(line);
  const from = Math.min(start.to, start.from + Math.max(0, (col || 1) - 1));
  let to;
  if (endLine && endLine <= doc.lines && endLine >= line) {
    const end = doc.line(endLine);
    to = Math.min(end.to, end.from + Math.max(0, (endCol || 1) - 1));
  }
  if (to === undefined || to <= from) to = from === start.to ? start.to : Math.max(from + 1, start.to);
  if (to <= from) return { from: Math.max(start.from, from - 1), to: from };
  return { from, to };
}

function selectedSpan(state) {
  const range = state.selection.main;
  if (range.empty) return null;
  const a = state.doc.lineAt(range.from);
  const b = state.doc.lineAt(range.to);
  return { line: a.number, col: range.from - a.from + 1, end_line: b.number, end_col: range.to - b.from + 1 };
}

/**
 * A small code editor (CodeMirror 6) for Rhai scripts and expressions: line numbers, undo
 * history, bracket matching and Rhai highlighting. Tab is left to the page (it moves focus), so
 * the editor never traps keyboard users.
 */
import { EditorState, Annotation } from '@codemirror/state';
import { EditorView, drawSelection, highlightActiveLine, keymap, lineNumbers, placeholder as placeholderExt } from '@codemirror/view';
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { HighlightStyle, StreamLanguage, bracketMatching, indentOnInput, syntaxHighlighting } from '@codemirror/language';
import { tags } from '@lezer/highlight';

const KEYWORDS = new Set(
  'let const if else while loop for in do until fn return throw try catch switch break continue import export as private this global is_def_var true false'.split(
    ' ',
  ),
);

interface RhaiState {
  inBlockComment: boolean;
}

/** Rhai, closely enough for highlighting: comments, strings, numbers, keywords, `${…}`. */
const rhai = StreamLanguage.define<RhaiState>({
  name: 'rhai',
  startState: () => ({ inBlockComment: false }),
  token(stream, state) {
    if (state.inBlockComment) {
      if (stream.skipTo('*/')) {
        stream.match('*/');
        state.inBlockComment = false;
      } else stream.skipToEnd();
      return 'comment';
    }
    if (stream.eatSpace()) return null;
    if (stream.match('//')) {
      stream.skipToEnd();
      return 'comment';
    }
    if (stream.match('/*')) {
      state.inBlockComment = true;
      return 'comment';
    }
    const ch = stream.peek();
    if (ch === '"' || ch === '`' || ch === "'") {
      stream.next();
      let escaped = false;
      for (;;) {
        const c = stream.next();
        if (c === undefined) break;
        if (c === ch && !escaped) break;
        escaped = !escaped && c === '\\';
      }
      return 'string';
    }
    if (stream.match(/^\d[\d_]*(\.\d+)?([eE][+-]?\d+)?/)) return 'number';
    if (stream.match('${')) return 'meta';
    if (stream.match(/^#\{/)) return 'bracket';
    if (stream.match(/^[A-Za-z_][A-Za-z0-9_]*/)) {
      const word = stream.current();
      if (KEYWORDS.has(word)) return word === 'true' || word === 'false' ? 'atom' : 'keyword';
      if (stream.peek() === '(') return 'variableName.function';
      return 'variableName';
    }
    if (stream.match(/^(==|!=|<=|>=|&&|\|\||\?\?|[-+*/%<>=!&|^])/)) return 'operator';
    stream.next();
    return null;
  },
  languageData: { commentTokens: { line: '//', block: { open: '/*', close: '*/' } } },
});

const highlight = HighlightStyle.define([
  { tag: tags.keyword, color: 'var(--code-keyword)', fontWeight: '600' },
  { tag: tags.atom, color: 'var(--code-atom)' },
  { tag: tags.string, color: 'var(--code-string)' },
  { tag: tags.number, color: 'var(--code-number)' },
  { tag: tags.comment, color: 'var(--code-comment)', fontStyle: 'italic' },
  { tag: tags.meta, color: 'var(--code-keyword)' },
  { tag: tags.function(tags.variableName), color: 'var(--code-function)' },
  { tag: tags.operator, color: 'var(--fg-soft)' },
]);

const theme = EditorView.theme({
  '&': {
    fontSize: '12px',
    border: '1px solid var(--bio-border-input, var(--border))',
    borderRadius: '2px',
    backgroundColor: 'var(--bg)',
    color: 'var(--fg)',
  },
  '&.cm-focused': { outline: '2px solid var(--focus)', outlineOffset: '0' },
  '.cm-content': { fontFamily: 'var(--mono)', padding: '4px 0', minHeight: 'var(--code-min-height, 60px)' },
  '.cm-scroller': { fontFamily: 'var(--mono)', maxHeight: '320px', overflow: 'auto' },
  '.cm-gutters': { backgroundColor: 'var(--bg-soft)', color: 'var(--fg-soft)', border: 'none' },
  '.cm-activeLine': { backgroundColor: 'color-mix(in srgb, var(--accent) 7%, transparent)' },
  '.cm-cursor': { borderLeftColor: 'var(--fg)' },
  '&.cm-focused .cm-selectionBackground, .cm-selectionBackground': {
    backgroundColor: 'color-mix(in srgb, var(--accent) 28%, transparent)',
  },
});

const external = Annotation.define<boolean>();

export interface CodeEditor {
  /** Shows `value` (from an undo, or another element) without reporting it as an edit. */
  setValue(value: string): void;
  /** Reports a pending edit now. */
  flush(): void;
  destroy(): void;
  view: EditorView;
}

export function createCodeEditor(
  parent: HTMLElement,
  options: {
    value: string;
    onChange(value: string): void;
    labelledBy: string;
    describedBy?: string;
    placeholder?: string;
    debounceMs?: number;
  },
): CodeEditor {
  let timer: ReturnType<typeof setTimeout> | null = null;
  let pending: string | null = null;
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    if (pending !== null) {
      const v = pending;
      pending = null;
      options.onChange(v);
    }
  };
  const attributes: Record<string, string> = { 'aria-labelledby': options.labelledBy, 'aria-multiline': 'true' };
  if (options.describedBy) attributes['aria-describedby'] = options.describedBy;
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: options.value,
      extensions: [
        lineNumbers(),
        history(),
        drawSelection(),
        highlightActiveLine(),
        indentOnInput(),
        bracketMatching(),
        rhai,
        syntaxHighlighting(highlight),
        theme,
        keymap.of([...defaultKeymap, ...historyKeymap]),
        EditorView.lineWrapping,
        EditorView.contentAttributes.of(attributes),
        options.placeholder ? placeholderExt(options.placeholder) : [],
        EditorView.updateListener.of((u) => {
          if (!u.docChanged || u.transactions.some((t) => t.annotation(external))) return;
          pending = u.state.doc.toString();
          if (timer) clearTimeout(timer);
          timer = setTimeout(flush, options.debounceMs ?? 300);
        }),
        EditorView.domEventHandlers({ blur: () => flush() }),
      ],
    }),
  });
  return {
    view,
    flush,
    setValue(value: string) {
      if (pending !== null) return; // the user's edit wins until it is reported
      const current = view.state.doc.toString();
      if (current === value) return;
      view.dispatch({ changes: { from: 0, to: current.length, insert: value }, annotations: external.of(true) });
    },
    destroy() {
      flush();
      view.destroy();
    },
  };
}

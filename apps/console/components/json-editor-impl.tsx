'use client';

import { json } from '@codemirror/lang-json';
import CodeMirror, { EditorView, ExternalChange, Prec, type ReactCodeMirrorRef } from '@uiw/react-codemirror';
import { useEffect, useMemo, useRef } from 'react';
import { useIsDark } from '../lib/theme';

export interface JsonEditorProps {
  value: string;
  onChange?: (value: string) => void;
  readOnly?: boolean;
  ariaLabel?: string;
}

/** Blends the editor into the console's cards, in both themes (syntax colours stay CodeMirror's). */
const consoleChrome = Prec.highest(
  EditorView.theme({
    '&': { backgroundColor: 'var(--surface)' },
    '.cm-gutters': {
      backgroundColor: 'var(--surface)',
      borderRight: '1px solid var(--line)',
      color: 'var(--muted)',
    },
    '.cm-activeLine, .cm-activeLineGutter': {
      backgroundColor: 'color-mix(in srgb, var(--accent) 7%, transparent)',
    },
  }),
);

export default function JsonEditorImpl({ value, onChange, readOnly, ariaLabel = 'JSON' }: JsonEditorProps) {
  const dark = useIsDark();
  const extensions = useMemo(
    () => [
      json(),
      consoleChrome,
      EditorView.lineWrapping,
      EditorView.contentAttributes.of({ 'aria-label': ariaLabel }),
    ],
    [ariaLabel],
  );
  const ref = useRef<ReactCodeMirrorRef>(null);
  // The wrapper holds back outside changes for a moment after the last keystroke in the editor;
  // a form edit (the editor is not focused then) must show at once.
  useEffect(() => {
    const view = ref.current?.view;
    if (!view || view.hasFocus) return;
    const doc = view.state.doc.toString();
    if (doc !== value)
      view.dispatch({
        changes: { from: 0, to: doc.length, insert: value },
        annotations: [ExternalChange.of(true)],
      });
  }, [value]);
  return (
    <CodeMirror
      ref={ref}
      value={value}
      onChange={onChange}
      readOnly={readOnly}
      editable={!readOnly}
      theme={dark ? 'dark' : 'light'}
      extensions={extensions}
      height="100%"
      basicSetup={{
        foldGutter: true,
        highlightActiveLine: !readOnly,
        highlightActiveLineGutter: !readOnly,
        tabSize: 2,
      }}
    />
  );
}

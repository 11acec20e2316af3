'use client';

import dynamic from 'next/dynamic';
import type { JsonEditorProps } from './json-editor-impl';

/** CodeMirror needs the DOM: load it in the browser only, with a plain placeholder meanwhile. */
export const JsonEditor = dynamic<JsonEditorProps>(() => import('./json-editor-impl'), {
  ssr: false,
  loading: () => <div className="h-full animate-pulse bg-surface-2" />,
});

'use client';

import { useEffect, useRef, useState } from 'react';
import { Button } from './ui';
import '@xterm/xterm/css/xterm.css';

type State = 'idle' | 'connecting' | 'open' | 'closed';

/**
 * A shell inside a running task: xterm.js over control's exec WebSocket (same-origin, the session
 * cookie authenticates; admins only). Keys go in as binary frames, output comes back as binary
 * frames whose first byte names the stream; resizes follow the element.
 */
export function TaskTerminal({ taskId, command = 'sh' }: { taskId: string; command?: string }) {
  const host = useRef<HTMLDivElement>(null);
  const [state, setState] = useState<State>('idle');
  const [message, setMessage] = useState<string | null>(null);
  const [session, setSession] = useState(0);

  useEffect(() => {
    if (session === 0 || !host.current) return;
    let disposed = false;
    let cleanup = () => undefined as void;
    void (async () => {
      const [{ Terminal }, { FitAddon }] = await Promise.all([
        import('@xterm/xterm'),
        import('@xterm/addon-fit'),
      ]);
      if (disposed || !host.current) return;
      const term = new Terminal({
        cursorBlink: true,
        fontSize: 13,
        convertEol: false,
        theme: { background: '#0d1117' },
      });
      const fit = new FitAddon();
      term.loadAddon(fit);
      term.open(host.current);
      fit.fit();
      const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
      const q = new URLSearchParams({
        command,
        tty: 'true',
        cols: String(term.cols),
        rows: String(term.rows),
      });
      const ws = new WebSocket(
        `${proto}//${location.host}/api/v1/tasks/${encodeURIComponent(taskId)}/exec?${q}`,
      );
      ws.binaryType = 'arraybuffer';
      setState('connecting');
      ws.onmessage = (e: MessageEvent<ArrayBuffer | string>) => {
        if (typeof e.data !== 'string') {
          setState('open');
          term.write(new Uint8Array(e.data).subarray(1));
          return;
        }
        const msg = JSON.parse(e.data) as { type: string; exitCode?: number | null; error?: string };
        if (msg.type === 'started') {
          setState('open');
          term.focus();
        }
        if (msg.type === 'exit')
          setMessage(msg.error ? `Ended: ${msg.error}` : `Exited with code ${msg.exitCode ?? 'unknown'}`);
      };
      ws.onclose = (e) => {
        setState('closed');
        if (e.code !== 1000)
          setMessage(
            (m) =>
              m ??
              `Connection closed (${e.code}${e.reason ? `: ${e.reason}` : ''}). Exec needs the admin role and a running task.`,
          );
      };
      const enc = new TextEncoder();
      const input = term.onData((d) => ws.readyState === WebSocket.OPEN && ws.send(enc.encode(d)));
      const resize = term.onResize(
        ({ cols, rows }) =>
          ws.readyState === WebSocket.OPEN && ws.send(JSON.stringify({ type: 'resize', cols, rows })),
      );
      const observer = new ResizeObserver(() => fit.fit());
      observer.observe(host.current);
      cleanup = () => {
        observer.disconnect();
        input.dispose();
        resize.dispose();
        ws.close();
        term.dispose();
      };
    })();
    return () => {
      disposed = true;
      cleanup();
    };
  }, [session, taskId, command]);

  return (
    <div className="rounded-lg border border-line bg-surface" data-testid="task-terminal">
      <div className="flex items-center gap-2 border-b border-line px-3 py-2 text-xs text-muted">
        <Button
          size="sm"
          variant="primary"
          onClick={() => {
            setMessage(null);
            setSession((n) => n + 1);
          }}
          disabled={state === 'connecting' || state === 'open'}
          data-testid="terminal-connect"
        >
          {session === 0 ? `Open ${command}` : 'Reconnect'}
        </Button>
        <span data-testid="terminal-state">{state}</span>
        {message && <span data-testid="terminal-message">{message}</span>}
      </div>
      <div ref={host} className="h-[26rem] bg-[#0d1117] p-2" data-testid="terminal-screen" />
    </div>
  );
}

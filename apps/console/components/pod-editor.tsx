'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useState, type ReactNode } from 'react';
import { fmtCpus, fmtMem } from '../lib/format';
import { serviceHref } from '../lib/links';
import { isObject, parseJsonText, toJsonText } from '../lib/service-form';
import { errorMessage, fieldIssues, useTRPC } from '../lib/trpc';
import { JsonEditor } from './json-editor';
import { Button, Card, FieldError, PageHeader, Table, cx, tdClass, thClass } from './ui';

/** A Marathon pod: two containers sharing a network and a volume; one serves what the other writes. */
export const podExample = {
  id: '/my-pod',
  containers: [
    {
      name: 'writer',
      resources: { cpus: 0.1, mem: 32 },
      image: { kind: 'DOCKER', id: 'busybox:latest' },
      exec: { command: { shell: 'while true; do date > data/index.html; sleep 5; done' } },
      volumeMounts: [{ name: 'shared', mountPath: 'data' }],
    },
    {
      name: 'web',
      resources: { cpus: 0.1, mem: 32 },
      image: { kind: 'DOCKER', id: 'busybox:latest' },
      exec: { command: { shell: 'exec httpd -f -p 8080 -h data' } },
      endpoints: [{ name: 'http', containerPort: 8080, hostPort: 0 }],
      volumeMounts: [{ name: 'shared', mountPath: 'data' }],
    },
  ],
  volumes: [{ name: 'shared' }],
  networks: [{ mode: 'container/bridge' }],
  scaling: { instances: 1 },
};

/** "Single container | Pod (multi-container)" on the Run a service page. */
export function ModeSwitch({
  mode,
  onChange,
}: {
  mode: 'single' | 'pod';
  onChange: (mode: 'single' | 'pod') => void;
}) {
  const item = (m: 'single' | 'pod', label: string) => (
    <button
      type="button"
      role="radio"
      aria-checked={mode === m}
      onClick={() => onChange(m)}
      data-testid={`mode-${m}`}
      className={cx(
        'rounded px-3 py-1 text-sm',
        mode === m ? 'bg-surface font-medium text-fg shadow-sm' : 'text-muted hover:text-fg',
      )}
    >
      {label}
    </button>
  );
  return (
    <div
      role="radiogroup"
      aria-label="Kind of service"
      className="mb-4 inline-flex gap-1 rounded-md bg-surface-2 p-1"
    >
      {item('single', 'Single container')}
      {item('pod', 'Pod (multi-container)')}
    </div>
  );
}

/** Deploys a Marathon pod definition written in the JSON editor (`pods.create`). */
export function PodEditor({ switcher }: { switcher: ReactNode }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const [text, setText] = useState(() => toJsonText(podExample));
  const parsed = parseJsonText(text);
  const create = useMutation(
    trpc.pods.create.mutationOptions({
      onSuccess: async (res) => {
        await Promise.all([
          queryClient.invalidateQueries({ queryKey: trpc.apps.pathKey() }),
          queryClient.invalidateQueries({ queryKey: trpc.pods.pathKey() }),
          queryClient.invalidateQueries({ queryKey: trpc.deployments.pathKey() }),
        ]);
        router.push(serviceHref(res.pod.id));
      },
    }),
  );
  const issues = create.error ? fieldIssues(create.error) : [];
  const deploy = () => {
    if (parsed.ok && !create.isPending) create.mutate({ definition: parsed.value });
  };
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        deploy();
      }}
      noValidate
    >
      <PageHeader
        crumbs={[{ href: '/services', label: 'Services' }]}
        title="Run a service"
        subtitle="A pod runs several containers per instance; they share the network, the ports and the volumes, and live and die together."
        actions={
          <>
            <Button onClick={() => router.push('/services')}>Cancel</Button>
            <Button
              type="submit"
              variant="primary"
              disabled={!parsed.ok || create.isPending}
              data-testid="deploy-button"
            >
              {create.isPending ? 'Deploying…' : 'Deploy'}
            </Button>
          </>
        }
      />
      {switcher}
      <Card title="Pod definition (JSON)">
        <div className="h-[60vh] overflow-hidden" data-testid="json-editor">
          <JsonEditor value={text} onChange={setText} ariaLabel="Pod definition (JSON)" />
        </div>
        {(!parsed.ok || create.error) && (
          <div className="border-t border-line px-4 py-2" data-testid="editor-errors">
            {!parsed.ok && <FieldError>Invalid JSON: {parsed.error}</FieldError>}
            {create.error &&
              (issues.length > 0 ? (
                issues.map((i) => (
                  <FieldError key={`${i.path}:${i.message}`}>{`${i.path}: ${i.message}`}</FieldError>
                ))
              ) : (
                <FieldError>{errorMessage(create.error)}</FieldError>
              ))}
          </div>
        )}
      </Card>
    </form>
  );
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' ? v : undefined;
}

function list(v: unknown): Array<Record<string, unknown>> {
  return Array.isArray(v) ? v.filter(isObject) : [];
}

/** The containers of a pod: name, image, command, resources and endpoints. */
export function PodContainers({ pod }: { pod: unknown }) {
  const containers = isObject(pod) ? list(pod.containers) : [];
  return (
    <Card title={`Pod containers (${containers.length})`} className="mb-4">
      <div data-testid="pod-containers">
        <Table>
          <thead>
            <tr>
              <th className={thClass}>Name</th>
              <th className={thClass}>Image</th>
              <th className={thClass}>Command</th>
              <th className={`${thClass} text-right`}>CPU</th>
              <th className={`${thClass} text-right`}>Memory</th>
              <th className={thClass}>Endpoints</th>
            </tr>
          </thead>
          <tbody>
            {containers.map((c, i) => {
              const image = isObject(c.image) ? str(c.image.id) : undefined;
              const exec =
                isObject(c.exec) && isObject(c.exec.command) ? str(c.exec.command.shell) : undefined;
              const res = isObject(c.resources) ? c.resources : {};
              const cpus = num(res.cpus);
              const mem = num(res.mem);
              return (
                <tr key={str(c.name) ?? i} data-testid="pod-container" data-name={str(c.name)}>
                  <td className={`${tdClass} font-medium`}>{str(c.name) ?? '—'}</td>
                  <td className={`${tdClass} font-mono text-xs`}>{image ?? '—'}</td>
                  <td className={`${tdClass} max-w-96 break-words font-mono text-xs`}>{exec ?? '—'}</td>
                  <td className={`${tdClass} text-right tabular-nums`}>
                    {cpus !== undefined ? fmtCpus(cpus) : '—'}
                  </td>
                  <td className={`${tdClass} text-right tabular-nums`}>
                    {mem !== undefined ? fmtMem(mem) : '—'}
                  </td>
                  <td className={`${tdClass} font-mono text-xs`}>
                    {list(c.endpoints).length === 0
                      ? '—'
                      : list(c.endpoints).map((e, j) => (
                          <div key={j}>
                            {str(e.name) ?? 'endpoint'}: {num(e.containerPort) ?? '—'}
                            {e.hostPort !== undefined && (
                              <span className="text-muted">
                                {' '}
                                (host {num(e.hostPort) === 0 ? 'any' : num(e.hostPort)})
                              </span>
                            )}
                          </div>
                        ))}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </Table>
      </div>
    </Card>
  );
}

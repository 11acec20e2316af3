import type { Task } from '../lib/types';

/** A task's host ports, with the container port each maps to ("31002→80"). */
export function HostPorts({ task }: { task: Pick<Task, 'portMappings' | 'ports'> }) {
  const mappings =
    task.portMappings.length > 0
      ? task.portMappings
      : task.ports.map((hostPort) => ({
          hostPort,
          containerPort: undefined,
          protocol: 'tcp',
          name: undefined,
        }));
  return (
    <span data-testid="task-host-ports" className="font-mono text-xs">
      {mappings.length === 0
        ? '—'
        : mappings.map((m, i) => (
            <span
              key={i}
              className="mr-2 whitespace-nowrap"
              title={m.name ? `${m.name} (${m.protocol})` : m.protocol}
            >
              {m.hostPort}
              {m.containerPort !== undefined && <span className="text-muted">→{m.containerPort}</span>}
            </span>
          ))}
    </span>
  );
}

import { taskSpecSchema, type TaskSpec } from '@atoll/spec';

let counter = 0;

/** A complete, valid TaskSpec; tests override only what matters to them. */
export function makeTaskSpec(overrides: Partial<TaskSpec> = {}): TaskSpec {
  counter += 1;
  return taskSpecSchema.parse({
    taskId: `web.test-${process.pid}-${Date.now().toString(36)}-${counter}`,
    appId: '/web',
    appVersion: '2024-01-01T00:00:00.000Z',
    image: 'atoll-test-busybox:latest',
    cmd: 'sleep 3600',
    env: {},
    cpus: 0.1,
    mem: 32,
    disk: 0,
    network: 'bridge',
    ports: [],
    labels: {},
    ...overrides,
  });
}

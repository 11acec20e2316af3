import { parseAppDefinition } from '@atoll/spec';
import { describe, expect, it } from 'vitest';
import { appMounts, buildTaskSpec, persistentVolumeName } from './reconciler';

const app = (volumes: unknown[], parameters: unknown[] = []) => {
  const r = parseAppDefinition({
    id: '/kafka/broker-0',
    cmd: 'x',
    container: { type: 'DOCKER', docker: { image: 'apache/kafka:3.9.0', parameters }, volumes },
  });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value;
};

describe('app volumes as mounts', () => {
  it('names persistent volumes by app and path, usable in Docker', () => {
    expect(persistentVolumeName('/kafka/broker-0', 'data')).toBe('atoll-kafka_broker-0-data');
    expect(persistentVolumeName('/a', 'x/y z')).toBe('atoll-a-x_y_z');
  });

  it("mounts a persistent volume at the sandbox path, and where a hostPath names it (Marathon's pattern)", () => {
    expect(
      appMounts(
        app([
          { containerPath: 'data', mode: 'RW', persistent: { type: 'root', size: 1024 } },
          { containerPath: '/var/lib/kafka/data', hostPath: 'data', mode: 'RW' },
          { containerPath: '/etc/ssl/certs', hostPath: '/etc/ssl/certs', mode: 'RO' },
          { containerPath: 'ext', external: { name: 'x', provider: 'dvdi' } },
        ]),
      ),
    ).toEqual([
      {
        target: '/mnt/mesos/sandbox/data',
        source: { type: 'volume', name: 'atoll-kafka_broker-0-data' },
        readOnly: false,
      },
      {
        target: '/var/lib/kafka/data',
        source: { type: 'volume', name: 'atoll-kafka_broker-0-data' },
        readOnly: false,
      },
      { target: '/etc/ssl/certs', source: { type: 'host', path: '/etc/ssl/certs' }, readOnly: true },
    ]);
  });

  it('carries mounts and docker parameters into the task spec', () => {
    const spec = buildTaskSpec(
      app(
        [{ containerPath: '/x', hostPath: '/srv/x', mode: 'RW' }],
        [{ key: 'cap-add', value: 'NET_ADMIN' }],
      ),
      'v1',
      { id: 't1', host: 'h', nodeId: 'n', ports: [] },
    );
    expect(spec.mounts).toEqual([
      { target: '/x', source: { type: 'host', path: '/srv/x' }, readOnly: false },
    ]);
    expect(spec.dockerParameters).toEqual([{ key: 'cap-add', value: 'NET_ADMIN' }]);
  });
});

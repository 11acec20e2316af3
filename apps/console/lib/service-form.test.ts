import { describe, expect, it } from 'vitest';
import {
  definitionToForm,
  fieldForIssue,
  formToDefinition,
  initialForm,
  parseJsonText,
  type ServiceForm,
} from './service-form';

const form = (over: Partial<ServiceForm>): ServiceForm => ({ ...initialForm, ...over });

describe('formToDefinition', () => {
  it('writes a Docker app with a bridge port mapping', () => {
    expect(
      formToDefinition(
        form({ id: '/web', image: 'nginx:1.27', instances: '3', cpus: '0.5', mem: '256', port: '80' }),
      ),
    ).toEqual({
      id: '/web',
      instances: 3,
      cpus: 0.5,
      mem: 256,
      container: {
        type: 'DOCKER',
        docker: { image: 'nginx:1.27' },
        portMappings: [{ containerPort: 80, hostPort: 0, protocol: 'tcp' }],
      },
      networks: [{ mode: 'container/bridge' }],
    });
  });

  it('writes a command app with a host port', () => {
    expect(formToDefinition(form({ id: '/sleep', cmd: 'sleep 1000', port: '8080' }))).toEqual({
      id: '/sleep',
      cmd: 'sleep 1000',
      instances: 1,
      cpus: 0.1,
      mem: 128,
      portDefinitions: [{ port: 0 }],
    });
    expect(formToDefinition(form({ id: '/sleep', cmd: 'sleep 1000' })).portDefinitions).toEqual([]);
  });

  it('keeps fields the form does not know, and secret env values', () => {
    const base = {
      id: '/web',
      labels: { team: 'a' },
      healthChecks: [{ path: '/health' }],
      env: { SECRET: { secret: 's1' }, OLD: 'x' },
      container: {
        type: 'DOCKER',
        docker: { image: 'a', forcePullImage: true },
        portMappings: [{ containerPort: 1, hostPort: 0, name: 'http' }],
        volumes: [],
      },
      networks: [{ mode: 'container/bridge' }],
    };
    const def = formToDefinition(
      form({ id: '/web', image: 'b', port: '8080', env: [{ key: 'NEW', value: 'y' }] }),
      base,
    );
    expect(def.labels).toEqual({ team: 'a' });
    expect(def.healthChecks).toEqual([{ path: '/health' }]);
    expect(def.env).toEqual({ SECRET: { secret: 's1' }, NEW: 'y' });
    expect(def.container).toEqual({
      type: 'DOCKER',
      docker: { image: 'b', forcePullImage: true },
      portMappings: [{ containerPort: 8080, hostPort: 0, protocol: 'tcp', name: 'http' }],
      volumes: [],
    });
  });

  it('drops the container when the image is cleared', () => {
    const docker = formToDefinition(form({ id: '/x', image: 'nginx', port: '80' }));
    const cmd = formToDefinition(form({ id: '/x', cmd: 'run', port: '80' }), docker);
    expect(cmd.container).toBeUndefined();
    expect(cmd.networks).toBeUndefined();
    expect(cmd.portDefinitions).toEqual([{ port: 0 }]);
  });

  it('leaves numbers it cannot parse as text for the API to reject', () => {
    expect(formToDefinition(form({ id: '/x', cmd: 'a', cpus: 'lots' })).cpus).toBe('lots');
    expect(formToDefinition(form({ id: '/x', cmd: 'a', mem: '' })).mem).toBeUndefined();
  });
});

describe('definitionToForm', () => {
  it.each<[string, Partial<ServiceForm>]>([
    [
      'docker',
      {
        id: '/web',
        image: 'nginx',
        instances: '2',
        cpus: '0.25',
        mem: '64',
        port: '80',
        env: [{ key: 'A', value: '1' }],
      },
    ],
    ['command', { id: '/job', cmd: 'sleep 5', instances: '1', cpus: '1', mem: '32', port: '0' }],
    ['command without port', { id: '/job', cmd: 'sleep 5', port: '' }],
  ])('reads back what the form wrote (%s)', (_name, over) => {
    const f = form(over);
    expect(definitionToForm(formToDefinition(f))).toEqual(f);
  });

  it('reads fields typed into the JSON', () => {
    const f = definitionToForm({
      id: '/a/b',
      instances: 4,
      container: { docker: { image: 'redis' }, portMappings: [{ containerPort: 6379 }] },
      env: { X: 'y' },
    });
    expect(f).toMatchObject({
      id: '/a/b',
      image: 'redis',
      instances: '4',
      port: '6379',
      env: [{ key: 'X', value: 'y' }],
      cpus: '',
      mem: '',
    });
  });
});

describe('parseJsonText', () => {
  it('accepts objects only', () => {
    expect(parseJsonText('{"id":"/x"}')).toEqual({ ok: true, value: { id: '/x' } });
    expect(parseJsonText('[1]').ok).toBe(false);
    expect(parseJsonText('{').ok).toBe(false);
  });
});

describe('fieldForIssue', () => {
  it.each([
    ['id', 'id'],
    ['container.docker.image', 'image'],
    ['container.portMappings.0.containerPort', 'port'],
    ['portDefinitions.0.port', 'port'],
    ['env.FOO', 'env'],
    ['healthChecks.0.path', undefined],
  ])('%s → %s', (path, field) => {
    expect(fieldForIssue(path)).toBe(field);
  });
});

describe('editing a stored definition', () => {
  // What the Edit page starts from: a definition as the API stores it, defaults filled in.
  const docker = {
    id: '/e2e/web',
    cmd: 'httpd -f -p 8080',
    instances: 2,
    cpus: 0.1,
    mem: 32,
    disk: 0,
    env: {},
    container: {
      type: 'DOCKER',
      docker: { image: 'busybox', forcePullImage: false },
      portMappings: [{ containerPort: 8080, hostPort: 0, protocol: 'tcp', servicePort: 0 }],
    },
    networks: [{ mode: 'container/bridge' }],
    healthChecks: [{ protocol: 'HTTP', path: '/', portIndex: 0, gracePeriodSeconds: 5 }],
    upgradeStrategy: { minimumHealthCapacity: 1, maximumOverCapacity: 1 },
  };
  const command = {
    id: '/exec',
    cmd: 'python3 -m http.server $PORT0',
    instances: 1,
    cpus: 0.1,
    mem: 64,
    env: { A: '1', S: { secret: 's' } },
    portDefinitions: [{ port: 0, protocol: 'tcp', name: 'http' }],
  };

  it.each([
    ['a Docker app', docker],
    ['a command app', command],
  ])('round-trips %s unchanged through the form', (_name, def) => {
    expect(formToDefinition(definitionToForm(def), def)).toEqual(def);
  });

  it('changes only the field edited', () => {
    const f = definitionToForm(docker);
    expect(formToDefinition({ ...f, cmd: 'echo v2' }, docker)).toEqual({ ...docker, cmd: 'echo v2' });
  });
});

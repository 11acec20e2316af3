import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseAppDefinition, resolvePath } from '@atoll/spec';
import { describe, expect, it } from 'vitest';
import { loadRepoDir } from './builtin';
import type { PackageDefinition } from './package';
import { defaultsOf, renderPackage, validateOptions } from './render';

const builtin = await loadRepoDir();

const IMAGE = /^[a-z0-9./-]+:[\w.-]+$/;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The apps of a rendered definition with their absolute ids: the app itself, or a group's apps. */
function appsOf(definition: Json): Array<{ id: string; app: Json }> {
  if (!Array.isArray(definition.apps) && !Array.isArray(definition.groups))
    return [{ id: String(definition.id), app: definition }];
  const out: Array<{ id: string; app: Json }> = [];
  const walk = (group: Json, base: string) => {
    const groupId = resolvePath(String(group.id), base);
    for (const app of Array.isArray(group.apps) ? group.apps : [])
      if (isObject(app)) out.push({ id: resolvePath(String(app.id), groupId), app });
    for (const sub of Array.isArray(group.groups) ? group.groups : []) if (isObject(sub)) walk(sub, groupId);
  };
  walk(definition, '/');
  return out;
}

const isGroup = (definition: Json) => Array.isArray(definition.apps) || Array.isArray(definition.groups);

const render = (pkg: PackageDefinition, options?: Json) =>
  renderPackage({ pkg, source: 'builtin', ...(options ? { options: options as never } : {}) }).definition;

describe('the built-in catalog', () => {
  it('has packages', () => expect(builtin.length).toBeGreaterThanOrEqual(3));

  it('holds at least the 24 packages of the catalog', () => {
    const names = builtin.map((b) => b.pkg.metadata.name);
    expect(names.length).toBeGreaterThanOrEqual(24);
    expect(names).toEqual(
      expect.arrayContaining(
        'kafka cassandra spark hdfs jenkins elasticsearch etcd redis nginx openvpn postgresql mariadb mongodb rabbitmq nats minio grafana prometheus traefik memcached zookeeper gitea keycloak vault'.split(
          ' ',
        ),
      ),
    );
  });

  describe.each(builtin.map((b) => [`${b.pkg.metadata.name} ${b.pkg.metadata.version}`, b] as const))(
    '%s',
    (_name, { dir, pkg }) => {
      it('its options schema validates its own defaults', () => {
        expect(() => validateOptions(pkg.config, defaultsOf(pkg.config))).not.toThrow();
      });

      it('renders with its defaults into apps Atoll accepts, with health checks and a real image', () => {
        const definition = render(pkg);
        expect(definition.id).toBe(`/${pkg.metadata.name}`);
        const apps = appsOf(definition);
        expect(apps.length).toBeGreaterThan(0);
        if (!isGroup(definition)) expect(apps.map((a) => a.id)).toEqual([`/${pkg.metadata.name}`]);
        for (const { id, app } of apps) {
          // Marathon resolves an app's relative id against its group: parse it as it will be stored.
          const parsed = parseAppDefinition({ ...app, id });
          if (!parsed.ok) throw new Error(`${id}: ${JSON.stringify(parsed.issues)}`);
          expect(parsed.value.id).toBe(id);
          expect(parsed.value.id.startsWith(`/${pkg.metadata.name}`)).toBe(true);
          expect(parsed.value.healthChecks.length, `${id} has health checks`).toBeGreaterThan(0);
          expect(parsed.value.container?.docker?.image).toMatch(IMAGE);
          expect(app.labels).toMatchObject({
            DCOS_PACKAGE_NAME: pkg.metadata.name,
            DCOS_SERVICE_NAME: pkg.metadata.name,
          });
          for (const dep of parsed.value.dependencies) {
            const target = resolvePath(dep, id.slice(0, id.lastIndexOf('/')) || '/');
            expect(
              apps.map((a) => a.id),
              `${id} depends on ${dep}`,
            ).toContain(target);
          }
        }
      });

      it('takes a mirror image and another name', () => {
        const definition = render(pkg, { service: { name: 'other', image: 'mirror.local/x:1' } });
        expect(definition.id).toBe('/other');
        const apps = appsOf(definition);
        expect(apps.length).toBeGreaterThan(0);
        for (const { id, app } of apps) {
          expect(id.startsWith('/other')).toBe(true);
          expect(app).toMatchObject({
            container: { docker: { image: 'mirror.local/x:1' } },
            labels: { DCOS_SERVICE_NAME: 'other' },
          });
          expect(JSON.stringify(app)).not.toContain(`-${pkg.metadata.name}.marathon.mesos`);
        }
      });

      it('bundles its icons', () => {
        for (const icon of Object.values(pkg.resource.images ?? {}))
          expect(existsSync(path.join(dir, String(icon)))).toBe(true);
      });
    },
  );
});

describe('option branches render to apps Atoll accepts', () => {
  it.each([
    ['elasticsearch', { elasticsearch: { password: 's3cret-pass' } }],
    ['vault', { vault: { 'dev-mode': true, 'dev-root-token': 'root' } }],
    ['vault', { vault: { ui: false } }],
    [
      'gitea',
      { service: { 'public-url': 'https://atoll.example.com/service/gitea/' }, gitea: { 'ssh-port': 2222 } },
    ],
    ['openvpn', { openvpn: { 'public-host': 'vpn.example.com', port: 0 } }],
    ['traefik', { traefik: { 'extra-args': '--providers.file.directory=/etc/traefik/dynamic' } }],
    ['jenkins', { jenkins: { 'java-opts': '-Dhudson.footerURL=http://example.com' } }],
    [
      'spark',
      {
        workers: { instances: 0 },
        'history-server': { 'log-directory': 'hdfs://namenode-hdfs.marathon.mesos:8020/spark-events' },
      },
    ],
  ] as const)('%s with %j', (name, options) => {
    const found = builtin.find((b) => b.pkg.metadata.name === name);
    if (!found) throw new Error(`no package ${name}`);
    for (const { id, app } of appsOf(render(found.pkg, options as Json))) {
      const parsed = parseAppDefinition({ ...app, id });
      if (!parsed.ok) throw new Error(`${id}: ${JSON.stringify(parsed.issues)}`);
      expect(parsed.value.healthChecks.length).toBeGreaterThan(0);
    }
  });

  it('elasticsearch turns security on with a password, and vault keeps file storage unless in dev mode', () => {
    const es = builtin.find((b) => b.pkg.metadata.name === 'elasticsearch')!.pkg;
    expect(render(es).env).toMatchObject({ 'xpack.security.enabled': 'false' });
    expect(render(es, { elasticsearch: { password: 's3cret-pass' } }).env).toMatchObject({
      'xpack.security.enabled': 'true',
      ELASTIC_PASSWORD: 's3cret-pass',
    });
    const vault = builtin.find((b) => b.pkg.metadata.name === 'vault')!.pkg;
    const server = render(vault);
    expect(server.args).toEqual(['server']);
    expect(JSON.parse((server.env as Record<string, string>).VAULT_LOCAL_CONFIG!)).toMatchObject({
      storage: { file: { path: '/vault/file' } },
      ui: true,
    });
    expect(render(vault, { vault: { 'dev-mode': true } }).args).toEqual(['server', '-dev']);
  });
});

describe('multi-node packages', () => {
  const pkgOf = (name: string) => {
    const found = builtin.find((b) => b.pkg.metadata.name === name);
    if (!found) throw new Error(`no package ${name}`);
    return found.pkg;
  };
  const appsByName = (name: string, options?: Json) => {
    const definition = render(pkgOf(name), options);
    expect(isGroup(definition)).toBe(true);
    return new Map(appsOf(definition).map(({ id, app }) => [id, app]));
  };
  const env = (app: Json | undefined) => (app?.env ?? {}) as Record<string, string>;
  const unique = (app: Json | undefined) =>
    ((app?.constraints ?? []) as string[][]).some((c) => c[0] === 'hostname' && c[1] === 'UNIQUE');

  it('kafka: three KRaft brokers on different nodes that know each other as broker-N-<group>', () => {
    const apps = appsByName('kafka');
    expect([...apps.keys()]).toEqual(['/kafka/broker-0', '/kafka/broker-1', '/kafka/broker-2']);
    [0, 1, 2].forEach((n) => {
      const app = apps.get(`/kafka/broker-${n}`);
      expect(unique(app)).toBe(true);
      expect(app?.instances).toBe(1);
      expect(env(app)).toMatchObject({
        KAFKA_NODE_ID: String(n + 1),
        KAFKA_PROCESS_ROLES: 'broker,controller',
        KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://broker-${n}-kafka.marathon.mesos:9092`,
      });
      const voters = env(app).KAFKA_CONTROLLER_QUORUM_VOTERS;
      expect(voters).toContain('1@broker-0-kafka.marathon.mesos:9093');
      expect(voters).toContain('3@broker-2-kafka.marathon.mesos:9093');
      // The advertised ports are the host ports: they must equal what the brokers are told.
      expect(app).toMatchObject({
        container: {
          portMappings: [
            { containerPort: 9092, hostPort: 9092 },
            { containerPort: 9093, hostPort: 9093 },
          ],
        },
      });
    });
    const renamed = appsByName('kafka', { service: { name: 'events' } });
    expect(env(renamed.get('/events/broker-1')).KAFKA_CONTROLLER_QUORUM_VOTERS).toContain(
      '2@broker-1-events.marathon.mesos:9093',
    );
  });

  it('cassandra: node-0 is the seed; node-1 and node-2 wait for it, each on its own node', () => {
    const apps = appsByName('cassandra');
    expect([...apps.keys()]).toEqual(['/cassandra/node-0', '/cassandra/node-1', '/cassandra/node-2']);
    for (const app of apps.values()) {
      expect(unique(app)).toBe(true);
      expect(env(app).CASSANDRA_SEEDS).toBe('node-0-cassandra.marathon.mesos');
    }
    expect(apps.get('/cassandra/node-0')?.dependencies ?? []).toEqual([]);
    expect(apps.get('/cassandra/node-1')?.dependencies).toContain('/cassandra/node-0');
    expect(apps.get('/cassandra/node-2')?.dependencies).toContain('/cassandra/node-0');
    expect(env(apps.get('/cassandra/node-2')).CASSANDRA_BROADCAST_ADDRESS).toBe(
      'node-2-cassandra.marathon.mesos',
    );
  });

  it('etcd: three members on different nodes with the initial cluster of their peer names', () => {
    const apps = appsByName('etcd');
    expect([...apps.keys()]).toEqual(['/etcd/member-0', '/etcd/member-1', '/etcd/member-2']);
    for (const [id, app] of apps) {
      expect(unique(app)).toBe(true);
      const args = app.args as string[];
      expect(args).toContain(
        '--initial-cluster=member-0=http://member-0-etcd.marathon.mesos:2380,member-1=http://member-1-etcd.marathon.mesos:2380,member-2=http://member-2-etcd.marathon.mesos:2380',
      );
      const member = id.split('/').pop()!;
      expect(args).toContain(`--name=${member}`);
      expect(args).toContain(`--initial-advertise-peer-urls=http://${member}-etcd.marathon.mesos:2380`);
    }
  });

  it('hdfs: datanodes, one per node, wait for the namenode and reach it by its name', () => {
    const apps = appsByName('hdfs');
    expect([...apps.keys()]).toEqual(['/hdfs/namenode', '/hdfs/datanodes']);
    const datanodes = apps.get('/hdfs/datanodes');
    expect(datanodes?.instances).toBe(3);
    expect(unique(datanodes)).toBe(true);
    expect(datanodes?.dependencies).toEqual(['/hdfs/namenode']);
    for (const app of apps.values())
      expect(env(app)['CORE-SITE.XML_fs.defaultFS']).toBe('hdfs://namenode-hdfs.marathon.mesos:8020');
    expect(env(apps.get('/hdfs/namenode')).ENSURE_NAMENODE_DIR).toBeTruthy();
    expect(appsByName('hdfs', { datanodes: { instances: 5 } }).get('/hdfs/datanodes')?.instances).toBe(5);
  });

  it('spark: workers and the history server wait for the master and reach it by its name', () => {
    const apps = appsByName('spark');
    expect([...apps.keys()]).toEqual(['/spark/master', '/spark/workers', '/spark/history-server']);
    const workers = apps.get('/spark/workers');
    expect(workers?.instances).toBe(2);
    expect(workers?.dependencies).toEqual(['/spark/master']);
    expect(apps.get('/spark/history-server')?.dependencies).toEqual(['/spark/master']);
    expect(workers?.cmd).toContain('org.apache.spark.deploy.worker.Worker');
    expect(workers?.cmd).toContain('spark://master-spark.marathon.mesos:7077');
    expect(apps.get('/spark/master')?.labels).toMatchObject({ DCOS_SERVICE_PORT_INDEX: '1' });
  });
});

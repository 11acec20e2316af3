import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, waitForNodes, type TestCluster } from '../src/testing';
import { restClient, runPython, skipWithoutDocker, skipWithoutPython, TEST_IMAGE } from './support';

const skip =
  (await skipWithoutDocker('python3-dcos tests')) ||
  (await skipWithoutPython(
    ['dcos.marathon', 'dcos.package'],
    'python3-dcos tests (apt-get install python3-dcos)',
  ));

interface Report {
  results: Record<string, unknown> & {
    get_about: { name: string; version: string; elected: boolean };
    get_app_schema: {
      schema: string;
      type: string;
      valid_app_errors: string[];
      quoted_number_errors: string[];
      bad_app_errors: number;
    };
    get_app: { id: string; instances: number; tasksRunning: number; labels: Record<string, string> };
    get_tasks: Array<{ appId: string; state: string; ports: number }>;
    get_deployments: { affectedApps: string[]; steps: number };
    get_group_at_version: { id: string; cmd: string[]; instances: number[] };
    package_search: Array<{ source: boolean; packages: string[]; versions: string[][] }>;
    package_installed: Array<{
      appId: string;
      name: string;
      version: string;
      releaseVersion: string;
      endpoints: number;
    }>;
    package_app: { cmd: string; labels: string[] };
    prompted_login: { apps: string[]; version: string };
  };
  records: Array<{ logger: string; level: string; message: string }>;
}

/**
 * python3-dcos 0.2.0 (the DC/OS CLI's common modules, Debian's package) against a real control,
 * agent and Docker: dcos.marathon.Client — every method, as the `dcos marathon app|group|deployment|task`
 * verbs call them — and dcos.package from a Universe repository of the 1.x layout it reads
 * (search, describe, options, install as a Marathon app with DCOS_PACKAGE_* labels, list,
 * uninstall). Configured as the CLI is, by a TOML file named in DCOS_CONFIG.
 */
describe.skipIf(skip)('python3-dcos drives Atoll', () => {
  let cluster: TestCluster;
  let workDir: string;
  const api = restClient(
    () => cluster.url,
    () => cluster.token,
  );

  beforeAll(async () => {
    workDir = await mkdtemp(path.join(os.tmpdir(), 'atoll-dcos-'));
    cluster = await startTestCluster({ agent: true });
    await waitForNodes(cluster);
  });
  afterAll(async () => {
    await cluster?.stop();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it('answers dcos.marathon and dcos.package as Marathon did, with no warning', async () => {
    const script = await readFile(new URL('./clients/dcos_python.py', import.meta.url), 'utf8');
    const run = await runPython(
      script,
      {
        ATOLL_URL: cluster.url,
        ATOLL_TOKEN: cluster.token,
        ATOLL_PASSWORD: cluster.adminPassword,
        TEST_IMAGE,
        WORK_DIR: workDir,
      },
      540_000,
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    // dcos prints its own lines to stdout ("Updating source …", the username prompt).
    const line = run.stdout.split('\n').find((l) => l.startsWith('REPORT '));
    const { results: r, records } = JSON.parse(line!.slice('REPORT '.length)) as Report;
    expect(records).toEqual([]);
    const port = new URL(cluster.url).port;

    expect(r.get_about).toEqual({ name: 'atoll', version: '1.11.0', elected: true });
    // The CLI refuses a Marathon older than 0.8.1.
    expect(r.get_version).toBe('1.11.0');
    expect(r.get_leader).toBe(`127.0.0.1:${port}`);

    // `dcos marathon app add` validates against /v2/schemas/app first.
    expect(r.get_app_schema).toEqual({
      schema: 'http://json-schema.org/draft-04/schema#',
      type: 'object',
      valid_app_errors: [],
      quoted_number_errors: [],
      bad_app_errors: 1,
    });
    expect(r.get_app_missing).toBe("Error: App '/dcos/web' does not exist");
    expect(r.add_app).toEqual(['backoffFactor', 'backoffSeconds', 'cmd']);
    expect(r.get_app).toEqual({ id: '/dcos/web', instances: 1, tasksRunning: 1, labels: { team: 'atoll' } });
    expect(r.get_apps).toEqual(['/dcos/web']);
    expect(r.normalize_app_id).toBe('/dcos/web');

    for (const call of ['update_app', 'scale_app', 'stop_app', 'scale_app_again'])
      expect(r[call], call).toBe(true);
    expect(r.get_app_versions).toEqual({ count: 2, max_count_1: 1 });
    expect(r.get_app_at_version).toEqual({});
    expect(r.restart_app).toEqual(['deploymentId', 'version']);

    expect(r.get_tasks).toEqual([{ appId: '/dcos/web', state: 'TASK_RUNNING', ports: 1 }]);
    expect(r.get_tasks_all).toBe(1);
    expect(r.get_task).toBe(true);

    expect(r.get_deployments).toEqual({ affectedApps: ['/dcos/huge'], steps: 1 });
    expect(r.get_deployment).toBe(true);
    expect(r.rollback_deployment).toEqual(['deploymentId', 'version']);
    expect(r.stop_deployment).toBeNull();

    expect(r.get_group_missing).toBe("Error: Group '/dcos-group' does not exist");
    expect(r.create_group).toEqual(['deploymentId', 'version']);
    expect(r.get_groups).toContain('/dcos-group');
    expect(r.get_group).toEqual({ id: '/dcos-group', apps: ['/dcos-group/sleeper'] });
    expect(r.update_group).toBe(true);
    expect(r.scale_group).toBe(true);
    // The group as it was when first shown: before the update and the scale.
    expect(r.get_group_at_version).toEqual({ id: '/dcos-group', cmd: ['sleep 600'], instances: [1] });
    expect(r.remove_group).toBe(true);
    expect(r.add_app_invalid).toBe('Error: Object is not valid');

    expect(r.package_search).toEqual([{ source: true, packages: ['atoll-web'], versions: [['0.1.0']] }]);
    expect(r.package_describe).toEqual({ package: 'atoll-web', revision: '0', revisions: { '0': '0.1.0' } });
    expect(r.package_options).toEqual({
      'atoll-web': { name: '/atoll-web', greeting: 'installed-by-dcos', instances: 1, cpus: 0.05 },
    });
    expect(r.package_options_invalid).toMatch(/Path: atoll-web\.instances/);
    expect(r.package_installed).toEqual([
      { appId: '/atoll-web', name: 'atoll-web', version: '0.1.0', releaseVersion: '0', endpoints: 1 },
    ]);
    expect(r.package_app.cmd).toContain('echo installed-by-dcos');
    expect(r.package_app.labels).toEqual(
      expect.arrayContaining([
        'DCOS_PACKAGE_METADATA',
        'DCOS_PACKAGE_NAME',
        'DCOS_PACKAGE_VERSION',
        'DCOS_PACKAGE_SOURCE',
      ]),
    );
    expect(r.package_uninstall_ambiguous).toMatch(/^Multiple apps named \[atoll-web\] are installed/);
    expect(r.package_uninstall_one).toBe(1);
    expect(r.package_uninstall_all).toBe(1);

    // Without credentials in the URL: Atoll's 401 challenges for Basic and the user is asked.
    expect(r.prompted_login).toEqual({ apps: ['/dcos/web'], version: '1.11.0' });
    expect(r.remove_app).toBe(true);
    expect((await api<{ apps: unknown[] }>('GET', '/v2/apps')).apps).toEqual([]);
  }, 600_000);
});

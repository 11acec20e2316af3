import { describe, expect, it } from 'vitest';
import {
  nodeState,
  appDetail,
  appHealth,
  appTable,
  deploymentProgress,
  deploymentTable,
  duration,
  formatFields,
  formatTable,
  groupTree,
  healthCheckSummary,
  nodeTable,
  num,
  podDetail,
  podTable,
  progressBar,
  progressLine,
  queueTable,
  taskHealth,
  taskTable,
  timestamp,
  topReasons,
  versionTable,
  type DeploymentRow,
  type QueueRow,
  type AppDetail,
  type GroupAppRow,
} from './format';

describe('formatTable', () => {
  it('aligns columns with two spaces and leaves no trailing blanks', () => {
    const text = formatTable(
      ['ID', 'NAME', 'X'],
      [
        ['1', 'alpha', ''],
        ['22', 'b', 'yes'],
      ],
    );
    expect(text).toBe('ID  NAME   X\n1   alpha\n22  b      yes\n');
    for (const line of text.split('\n')) expect(line).toBe(line.trimEnd());
  });

  it('right-aligns columns asked for', () => {
    expect(
      formatTable(
        ['N', 'NAME'],
        [
          ['5', 'a'],
          ['100', 'b'],
        ],
        ['right'],
      ),
    ).toBe('  N  NAME\n  5  a\n100  b\n');
  });

  it('prints only the header for no rows', () => {
    expect(formatTable(['ID', 'STATE'], [])).toBe('ID  STATE\n');
  });

  it('treats missing cells as empty', () => {
    expect(formatTable(['A', 'B', 'C'], [['x']])).toBe('A  B  C\nx\n');
  });
});

describe('small formatters', () => {
  it('num drops float noise and keeps two decimals at most', () => {
    expect(num(0.1 + 0.2)).toBe('0.3');
    expect(num(2)).toBe('2');
    expect(num(1.23456)).toBe('1.23');
  });

  it('timestamp cuts to the second, dash when absent', () => {
    expect(timestamp('2025-01-02T03:04:05.678Z')).toBe('2025-01-02T03:04:05Z');
    expect(timestamp(null)).toBe('-');
    expect(timestamp('not a date')).toBe('not a date');
  });

  it('formatFields aligns keys and skips empty values', () => {
    expect(
      formatFields([
        ['ID', '/a'],
        ['LONGER KEY', 'v'],
        ['NONE', null],
        ['EMPTY', ''],
      ]),
    ).toBe('ID          /a\nLONGER KEY  v\n');
  });
});

const node = {
  id: '0f8c2d5e-aaaa-4bbb-8ccc-000000000001',
  hostname: 'host-1',
  address: '10.0.0.1',
  runtime: 'docker',
  status: 'ACTIVE',
  mode: 'ACTIVE',
  drain: null,
  connected: true,
  resources: { cpus: 8, memMb: 15_872, diskMb: 100_000 },
  allocated: { cpus: 0.30000000000000004, memMb: 256, diskMb: 0 },
  tasks: 3,
};

describe('nodeState', () => {
  it.each([
    [{ status: 'ACTIVE', mode: 'ACTIVE', connected: true, drain: null }, 'ACTIVE'],
    [{ status: 'ACTIVE', mode: 'MAINTENANCE', connected: true, drain: null }, 'MAINTENANCE'],
    [
      {
        status: 'ACTIVE',
        mode: 'DRAINING',
        connected: true,
        drain: { total: 5, remaining: 2, blocked: null },
      },
      'DRAINING 2/5 left',
    ],
    [{ status: 'UNREACHABLE', mode: 'DRAINED', connected: false, drain: null }, 'UNREACHABLE, DRAINED'],
  ])('%j → %s', (n, want) => expect(nodeState(n)).toBe(want));
});

describe('nodeTable', () => {
  it('shows allocation over total per resource', () => {
    expect(
      nodeTable([
        node,
        { ...node, id: 'n2', hostname: 'h2', address: '10.0.0.22', connected: false, tasks: 0 },
      ]),
    ).toBe(
      [
        'ID                                    HOSTNAME  ADDRESS    RUNTIME  STATUS                 CPU(alloc/total)   MEM(MiB)  DISK(MiB)  TASKS',
        '0f8c2d5e-aaaa-4bbb-8ccc-000000000001  host-1    10.0.0.1   docker   ACTIVE                            0.3/8  256/15872   0/100000      3',
        'n2                                    h2        10.0.0.22  docker   ACTIVE (disconnected)             0.3/8  256/15872   0/100000      0',
        '',
      ].join('\n'),
    );
  });
});

const app: AppDetail = {
  id: '/web',
  instances: 3,
  cpus: 0.5,
  mem: 256,
  disk: 0,
  version: '2025-01-02T03:04:05.678Z',
  tasksRunning: 2,
  tasksStaged: 1,
  tasksHealthy: 2,
  tasksUnhealthy: 0,
  deployments: [{ id: 'd-1' }],
  cmd: 'python3 -m http.server $PORT0',
  atoll: { status: 'Deploying', placementIssue: null, delayUntil: null, backoffFailures: 0 },
  tasks: [
    {
      id: 'web.1',
      appId: '/web',
      state: 'TASK_RUNNING',
      host: '10.0.0.1',
      ports: [31000, 31001],
      startedAt: '2025-01-02T03:04:06.000Z',
    },
    { id: 'web.2', appId: '/web', state: 'TASK_STAGING', host: '10.0.0.1', ports: [], startedAt: null },
  ],
};

describe('appTable', () => {
  it('shows running over wanted instances', () => {
    expect(
      appTable([
        app,
        {
          ...app,
          id: '/db/postgres',
          instances: 1,
          tasksRunning: 1,
          cpus: 2,
          mem: 4096,
          atoll: { ...app.atoll, status: 'Running' },
        },
      ]),
    ).toBe(
      [
        'ID            STATUS     INSTANCES(running/wanted)  HEALTHY  CPUS   MEM  VERSION',
        '/web          Deploying                        2/3        -   0.5   256  2025-01-02T03:04:05.678Z',
        '/db/postgres  Running                          1/1        -     2  4096  2025-01-02T03:04:05.678Z',
        '',
      ].join('\n'),
    );
  });
});

describe('groupTree', () => {
  const member = (id: string, instances: number, running = instances): GroupAppRow => ({
    id,
    instances,
    tasksRunning: running,
    tasksHealthy: 0,
    tasksUnhealthy: 0,
    cpus: 0.01,
    mem: 32,
    version: '2025-01-02T03:04:05.678Z',
  });

  it('indents subgroups under their group, apps after their group, with the columns of app list', () => {
    const tree = {
      id: '/prod',
      apps: [member('/prod/proxy', 1)],
      groups: [
        {
          id: '/prod/db',
          apps: [{ ...member('/prod/db/pg', 2, 1), healthChecks: [{ protocol: 'TCP' }], tasksHealthy: 1 }],
          groups: [],
        },
        {
          id: '/prod/sleep',
          apps: [],
          groups: [{ id: '/prod/sleep/deep', apps: [member('/prod/sleep/deep/a', 3)], groups: [] }],
        },
      ],
    };
    const statuses = new Map([
      ['/prod/proxy', 'Running'],
      ['/prod/db/pg', 'Deploying'],
    ]);
    expect(groupTree(tree, statuses)).toBe(
      [
        'ID                        STATUS     INSTANCES(running/wanted)  HEALTHY  CPUS  MEM  VERSION',
        '/prod',
        '  /prod/proxy             Running                          1/1        -  0.01   32  2025-01-02T03:04:05.678Z',
        '  /prod/db',
        '    /prod/db/pg           Deploying                        1/2      1/2  0.01   32  2025-01-02T03:04:05.678Z',
        '  /prod/sleep',
        '    /prod/sleep/deep',
        '      /prod/sleep/deep/a  -                                3/3        -  0.01   32  2025-01-02T03:04:05.678Z',
        '',
      ].join('\n'),
    );
  });

  it('takes an app’s own status before the one given, and leaves no trailing blanks', () => {
    const text = groupTree(
      { id: '/', apps: [{ ...member('/a', 1), atoll: { status: 'Delayed' } }], groups: [] },
      new Map([['/a', 'Running']]),
    );
    expect(text.split('\n')[2]).toMatch(/^ {2}\/a\s+Delayed\s/);
    for (const line of text.split('\n')) expect(line).toBe(line.trimEnd());
  });

  it('shows an empty root as the root alone', () => {
    expect(groupTree({ id: '/', apps: [], groups: [] })).toBe(
      'ID  STATUS  INSTANCES(running/wanted)  HEALTHY  CPUS  MEM  VERSION\n/\n',
    );
  });
});

describe('taskTable', () => {
  it('lists ports comma-separated and a dash for none', () => {
    expect(taskTable(app.tasks ?? [])).toBe(
      [
        'ID     APP   STATE         HOST      PORTS        STARTED',
        'web.1  /web  TASK_RUNNING  10.0.0.1  31000,31001  2025-01-02T03:04:06Z',
        'web.2  /web  TASK_STAGING  10.0.0.1  -            -',
        '',
      ].join('\n'),
    );
  });
});

describe('appDetail', () => {
  it('shows the fields, then the tasks', () => {
    const text = appDetail(app);
    expect(text).toContain('ID           /web\n');
    expect(text).toContain('INSTANCES    2/3 running (1 staged, 2 healthy, 0 unhealthy)\n');
    expect(text).toContain('CMD          python3 -m http.server $PORT0\n');
    expect(text).toContain('DEPLOYMENTS  d-1\n');
    expect(text).not.toContain('IMAGE');
    expect(text).toContain('\n\nID     APP   STATE');
  });

  it('names the image, a placement problem and the last failure when there are any', () => {
    const text = appDetail({
      ...app,
      cmd: undefined,
      container: { type: 'DOCKER', docker: { image: 'nginx:1.27' } },
      tasks: [],
      lastTaskFailure: { state: 'TASK_FAILED', message: 'exited with 1' },
      atoll: {
        status: 'Waiting',
        placementIssue: 'no node has 64 CPUs',
        delayUntil: null,
        backoffFailures: 0,
      },
    });
    expect(text).toContain('IMAGE         nginx:1.27\n');
    expect(text).toContain('WAITING       no node has 64 CPUs\n');
    expect(text).toContain('LAST FAILURE  TASK_FAILED: exited with 1\n');
    expect(text).not.toContain('CMD');
    expect(text.endsWith('\nNo tasks.\n')).toBe(true);
  });
});

describe('health', () => {
  const alive = (a: boolean | undefined) => ({ alive: a, consecutiveFailures: a ? 0 : 1 });

  it('taskHealth reads healthCheckResults, one per check', () => {
    expect(taskHealth({ healthCheckResults: [] }, 0)).toBe('-');
    expect(taskHealth({ healthCheckResults: [alive(true)] }, 0)).toBe('-');
    expect(taskHealth({ healthCheckResults: [] }, 1)).toBe('unknown');
    expect(taskHealth({}, 1)).toBe('unknown');
    expect(taskHealth({ healthCheckResults: [alive(true)] }, 1)).toBe('healthy');
    expect(taskHealth({ healthCheckResults: [alive(true)] }, 2)).toBe('unknown');
    expect(taskHealth({ healthCheckResults: [null, alive(false)] }, 2)).toBe('unhealthy');
    expect(taskHealth({ healthCheckResults: [alive(true), alive(false)] }, 2)).toBe('unhealthy');
    expect(taskHealth({ healthCheckResults: [alive(true), alive(true)] }, 2)).toBe('healthy');
  });

  it('appHealth is healthy over wanted, with the unhealthy ones; - without checks', () => {
    expect(appHealth(app)).toBe('-');
    const checked = { ...app, healthChecks: [{ protocol: 'HTTP' }] };
    expect(appHealth(checked)).toBe('2/3');
    expect(appHealth({ ...checked, tasksHealthy: 1, tasksUnhealthy: 1 })).toBe('1/3 (1 unhealthy)');
  });

  it('healthCheckSummary says what is checked and how often', () => {
    expect(
      healthCheckSummary({
        protocol: 'HTTP',
        path: '/health',
        portIndex: 0,
        intervalSeconds: 10,
        timeoutSeconds: 5,
        gracePeriodSeconds: 30,
        maxConsecutiveFailures: 3,
      }),
    ).toBe('HTTP /health port index 0 every 10s (timeout 5s, grace 30s, 3 failures)');
    expect(healthCheckSummary({ protocol: 'COMMAND', command: { value: 'true' }, intervalSeconds: 1 })).toBe(
      "COMMAND 'true' every 1s",
    );
    expect(healthCheckSummary({ protocol: 'TCP', port: 8080 })).toBe('TCP port 8080');
  });

  it('app show lists the checks and each task’s health', () => {
    const text = appDetail({
      ...app,
      healthChecks: [{ protocol: 'HTTP', path: '/', portIndex: 0, intervalSeconds: 2 }],
      tasksUnhealthy: 1,
      tasks: [
        { ...app.tasks![0]!, healthCheckResults: [{ alive: true }] },
        { ...app.tasks![0]!, id: 'web.3', healthCheckResults: [{ alive: false }] },
        app.tasks![1]!,
      ],
    });
    expect(text).toContain('INSTANCES      2/3 running (1 staged, 2 healthy, 1 unhealthy)\n');
    expect(text).toContain('HEALTH CHECKS  HTTP / port index 0 every 2s\n');
    expect(text).toMatch(/\nID\s+APP\s+STATE\s+HEALTH\s+HOST\s+PORTS\s+STARTED\n/);
    expect(text).toMatch(/^web\.1\s+\/web\s+TASK_RUNNING\s+healthy\s+10\.0\.0\.1/m);
    expect(text).toMatch(/^web\.3\s+\/web\s+TASK_RUNNING\s+unhealthy\s+10\.0\.0\.1/m);
    expect(text).toMatch(/^web\.2\s+\/web\s+TASK_STAGING\s+unknown\s+10\.0\.0\.1/m);
  });

  it('app show without checks has a dash for health', () => {
    expect(appDetail(app)).toMatch(/^web\.1\s+\/web\s+TASK_RUNNING\s+-\s+10\.0\.0\.1/m);
    expect(appDetail(app)).not.toContain('HEALTH CHECKS');
  });
});

describe('progressBar', () => {
  it.each([
    [0, 4, 0, '[..........]'],
    [1, 4, 3, '[##........]'],
    [2, 4, 1, '[#####.....]'],
    [3, 4, 0, '[#######...]'],
    [4, 4, 0, '[##########]'],
    // every new task is up but old ones remain: not full yet
    [4, 4, 2, '[#########.]'],
    // more than wanted (over capacity) is still one bar
    [5, 4, 0, '[##########]'],
    // an app scaled to 0 (or stopped): full once the old tasks are gone
    [0, 0, 3, '[..........]'],
    [0, 0, 0, '[##########]'],
  ])('%i of %i with %i old → %s', (done, total, old, bar) => {
    expect(progressBar(done, total, old)).toBe(bar);
  });

  it('takes a width', () => {
    expect(progressBar(1, 3, 0, 6)).toBe('[##....]');
    expect(progressBar(1, 3, 0, 6)).toHaveLength(8);
  });

  it('progressLine says updated over wanted and the old tasks left', () => {
    expect(progressLine({ appId: '/web', instances: 4, updated: 2, old: 1, healthy: 3 })).toBe(
      '[#####.....] 2/4 updated, 1 old',
    );
  });
});

const deployment: DeploymentRow = {
  id: '6b1c2f1e-0000-4000-8000-000000000001',
  version: '2025-01-02T03:04:05.678Z',
  affectedApps: ['/web'],
  currentActions: [{ action: 'RestartApplication', app: '/web' }],
  currentStep: 1,
  totalSteps: 1,
  progress: [{ appId: '/web', instances: 4, updated: 2, old: 1, healthy: 3 }],
};

const group: DeploymentRow = {
  ...deployment,
  id: '6b1c2f1e-0000-4000-8000-000000000002',
  affectedApps: ['/shop/db', '/shop/frontend'],
  currentActions: [
    { action: 'StartApplication', app: '/shop/db' },
    { action: 'StartApplication', app: '/shop/frontend' },
  ],
  currentStep: 1,
  totalSteps: 2,
  progress: [
    { appId: '/shop/db', instances: 1, updated: 1, old: 0, healthy: 1 },
    { appId: '/shop/frontend', instances: 3, updated: 0, old: 0, healthy: 0 },
  ],
};

describe('deploymentTable', () => {
  it('shows apps, the current actions, the step and the progress summed over apps', () => {
    expect(deploymentTable([deployment, group])).toBe(
      [
        'ID                                    APPS                     ACTION              STEP  PROGRESS            VERSION',
        '6b1c2f1e-0000-4000-8000-000000000001  /web                     RestartApplication   1/1  2/4 updated, 1 old  2025-01-02T03:04:05.678Z',
        '6b1c2f1e-0000-4000-8000-000000000002  /shop/db,/shop/frontend  StartApplication     1/2  1/4 updated, 0 old  2025-01-02T03:04:05.678Z',
        '',
      ].join('\n'),
    );
  });
});

describe('deploymentProgress', () => {
  it('shows a progress bar per app, aligned', () => {
    expect(deploymentProgress([deployment, group])).toBe(
      [
        'Deployment 6b1c2f1e-0000-4000-8000-000000000001  step 1/1: RestartApplication /web',
        '  /web  [#####.....] 2/4 updated, 1 old',
        'Deployment 6b1c2f1e-0000-4000-8000-000000000002  step 1/2: StartApplication /shop/db, /shop/frontend',
        '  /shop/db        [##########] 1/1 updated, 0 old',
        '  /shop/frontend  [..........] 0/3 updated, 0 old',
        '',
      ].join('\n'),
    );
  });

  it('then the deployments that ended, and says when there is none', () => {
    expect(
      deploymentProgress(
        [],
        [
          { id: 'd-1', ok: true },
          { id: 'd-2', ok: false, reason: 'canceled with rollback' },
        ],
      ),
    ).toBe('Deployment d-1 finished\nDeployment d-2 failed: canceled with rollback\n');
    expect(deploymentProgress([])).toBe('No deployments.\n');
  });
});

const waiting: QueueRow = {
  app: { id: '/big' },
  count: 2,
  delay: { timeLeftSeconds: 0, overdue: true },
  atoll: {
    placementIssue: 'no node has 4096 cpus free (most: 8)',
    reasons: {
      'insufficient cpus': 3,
      'insufficient mem': 1,
      'constraint hostname UNIQUE': 1,
      'insufficient disk': 0,
    },
  },
};

describe('queue', () => {
  it('topReasons: most excluded nodes first, ties by name, at most three', () => {
    expect(topReasons(waiting)).toBe(
      'insufficient cpus (3 nodes), constraint hostname UNIQUE (1 node), insufficient mem (1 node)',
    );
    expect(topReasons(waiting, 1)).toBe('insufficient cpus (3 nodes), 2 more');
  });

  it('topReasons falls back to the summary, then to a dash', () => {
    const deps = { ...waiting, atoll: { placementIssue: 'waiting for dependencies: /db', reasons: {} } };
    expect(topReasons(deps)).toBe('waiting for dependencies: /db');
    expect(topReasons({ ...waiting, atoll: { placementIssue: null, reasons: {} } })).toBe('-');
  });

  it('queueTable shows app, waiting count, delay left and reasons', () => {
    expect(
      queueTable([
        waiting,
        {
          app: { id: '/crashy' },
          count: 1,
          delay: { timeLeftSeconds: 125, overdue: false },
          atoll: { placementIssue: null, reasons: {} },
        },
      ]),
    ).toBe(
      [
        'APP      WAITING  DELAY  REASONS',
        '/big           2      -  insufficient cpus (3 nodes), constraint hostname UNIQUE (1 node), insufficient mem (1 node)',
        '/crashy        1  2m05s  -',
        '',
      ].join('\n'),
    );
  });

  it('duration reads as seconds, minutes or hours', () => {
    expect(duration(0)).toBe('0s');
    expect(duration(59.4)).toBe('59s');
    expect(duration(60)).toBe('1m00s');
    expect(duration(3725)).toBe('1h02m');
  });
});

describe('versionTable', () => {
  it('marks the current version', () => {
    expect(
      versionTable(['2025-01-03T00:00:00.000Z', '2025-01-02T00:00:00.000Z'], '2025-01-03T00:00:00.000Z'),
    ).toBe('VERSION                   CURRENT\n2025-01-03T00:00:00.000Z  yes\n2025-01-02T00:00:00.000Z\n');
  });
});

describe('pods', () => {
  const pod = {
    id: '/simple-pod',
    scaling: { kind: 'fixed', instances: 2 },
    containers: [{ name: 'ct1' }, { name: 'ct2' }],
    version: '2025-01-02T03:04:05.678Z',
  };
  const status = {
    id: '/simple-pod',
    status: 'DEGRADED',
    instances: [
      {
        id: 'simple-pod.instance-1',
        status: 'STABLE',
        agentHostname: 'node-1',
        containers: [
          { name: 'ct1', status: 'TASK_RUNNING' },
          { name: 'ct2', status: 'TASK_RUNNING' },
        ],
      },
      { id: 'simple-pod.instance-2', status: 'PENDING', agentHostname: '', containers: [] },
    ],
  };

  it('podTable shows running over wanted instances and the container names', () => {
    expect(
      podTable(
        [
          pod,
          { ...pod, id: '/other', scaling: { kind: 'fixed', instances: 1 }, containers: [{ name: 'web' }] },
        ],
        new Map([['/simple-pod', status]]),
      ),
    ).toBe(
      [
        'ID           STATUS    INSTANCES(running/wanted)  CONTAINERS  VERSION',
        '/simple-pod  DEGRADED                        1/2  ct1,ct2     2025-01-02T03:04:05.678Z',
        '/other       -                               -/1  web         2025-01-02T03:04:05.678Z',
        '',
      ].join('\n'),
    );
  });

  it('podTable marks wanted instances it does not know', () => {
    const bare = { id: pod.id, containers: pod.containers, version: pod.version };
    expect(podTable([bare])).toMatch(/^\/simple-pod {2}- +-\/\? {2}ct1,ct2 /m);
  });

  it('podDetail shows the status, then the instances with their containers', () => {
    expect(podDetail(pod, status)).toBe(
      [
        'ID          /simple-pod',
        'STATUS      DEGRADED',
        'INSTANCES   1/2 running',
        'CONTAINERS  ct1, ct2',
        'VERSION     2025-01-02T03:04:05.678Z',
        '',
        'INSTANCE               STATUS   HOST    CONTAINERS',
        'simple-pod.instance-1  STABLE   node-1  ct1=TASK_RUNNING, ct2=TASK_RUNNING',
        'simple-pod.instance-2  PENDING  -       -',
        '',
      ].join('\n'),
    );
  });

  it('podDetail says when there are no instances', () => {
    expect(podDetail(pod, { ...status, status: 'DEPLOYING', instances: [] })).toMatch(
      /^STATUS {6}DEPLOYING\nINSTANCES {3}0\/2 running\n[\s\S]*\n\nNo instances\.\n$/m,
    );
  });
});

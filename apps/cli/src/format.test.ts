import { describe, expect, it } from 'vitest';
import {
  appDetail,
  appTable,
  formatFields,
  formatTable,
  nodeTable,
  num,
  taskTable,
  timestamp,
  type AppDetail,
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
  connected: true,
  resources: { cpus: 8, memMb: 15_872, diskMb: 100_000 },
  allocated: { cpus: 0.30000000000000004, memMb: 256, diskMb: 0 },
  tasks: 3,
};

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
        'ID            STATUS     INSTANCES(running/wanted)  CPUS   MEM  VERSION',
        '/web          Deploying                        2/3   0.5   256  2025-01-02T03:04:05.678Z',
        '/db/postgres  Running                          1/1     2  4096  2025-01-02T03:04:05.678Z',
        '',
      ].join('\n'),
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

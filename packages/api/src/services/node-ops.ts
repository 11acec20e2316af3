import { isTerminal, type TaskState } from '@atoll/spec';
import { Prisma } from '@atoll/db';
import type { Services } from '../context';
import { AppError } from '../errors';
import { recordEvents } from './events';
import { getNode, type NodeMode, type NodeView } from './nodes';

/**
 * What an operator does with a host (Nomad's drain and eligibility, DC/OS's maintenance and
 * decommission). The node's `mode` decides whether it is offered to new tasks; only ACTIVE is.
 *
 * - drain: nothing new is placed; the reconciler moves its tasks elsewhere one at a time
 *   (`decide.ts` drainStep) and marks it DRAINED when none is left. Undrain returns it to ACTIVE.
 * - maintenance: nothing new is placed; its tasks stay. Off again: ACTIVE.
 * - decommission: the node leaves the cluster for good. Its credential stops working, its tasks are
 *   killed where it still answers and are replaced elsewhere. The row stays (hidden from lists) so
 *   the history of its tasks and events keeps a name.
 */

type S = Pick<Services, 'db' | 'bus' | 'now' | 'poke' | 'agents'>;

const TERMINAL = ['TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED', 'TASK_GONE'];

/** Which modes each operation may start from. */
const FROM: Record<'drain' | 'undrain' | 'maintenanceOn' | 'maintenanceOff', NodeMode[]> = {
  drain: ['ACTIVE', 'MAINTENANCE', 'DRAINED'],
  undrain: ['DRAINING', 'DRAINED'],
  maintenanceOn: ['ACTIVE', 'DRAINING', 'DRAINED'],
  maintenanceOff: ['MAINTENANCE'],
};

async function load(s: S, id: string) {
  const node = await s.db.prisma.node.findUnique({ where: { id } });
  if (!node) throw AppError.notFound(`node ${id}`);
  return node;
}

function refuse(mode: string, allowed: NodeMode[], what: string, hostname: string): never {
  throw new AppError(
    'CONFLICT',
    `cannot ${what} node ${hostname}: it is ${mode} (allowed from ${allowed.join(', ')})`,
  );
}

async function setMode(
  s: S,
  id: string,
  op: keyof typeof FROM,
  mode: NodeMode,
  what: string,
  extra: { drain?: { total: number; blocked: null } | null } = {},
): Promise<NodeView> {
  const node = await load(s, id);
  // Asking for the mode a node is already in is a no-op, not an error (idempotent CLI scripts).
  if (node.mode !== mode) {
    if (!FROM[op].includes(node.mode as NodeMode)) refuse(node.mode, FROM[op], what, node.hostname);
    const { count } = await s.db.prisma.node.updateMany({
      where: { id, mode: node.mode },
      data: {
        mode,
        modeChangedAt: s.now(),
        ...(extra.drain !== undefined ? { drain: extra.drain ?? Prisma.DbNull } : {}),
      },
    });
    if (count === 0) throw new AppError('CONFLICT', `node ${node.hostname} changed meanwhile; try again`);
    await recordEvents(
      s,
      [
        {
          type: `node_${op === 'maintenanceOn' ? 'maintenance' : op === 'maintenanceOff' ? 'maintenance_ended' : op}`,
          subject: id,
          payload: { hostname: node.hostname, mode },
        },
      ],
      'node',
    );
    s.poke();
  }
  return getNode(s, id);
}

async function activeTaskCount(s: S, nodeId: string): Promise<number> {
  return s.db.prisma.task.count({ where: { nodeId, state: { notIn: TERMINAL } } });
}

export async function drainNode(s: S, id: string): Promise<NodeView> {
  const total = await activeTaskCount(s, id);
  return setMode(s, id, 'drain', 'DRAINING', 'drain', { drain: { total, blocked: null } });
}

export async function undrainNode(s: S, id: string): Promise<NodeView> {
  return setMode(s, id, 'undrain', 'ACTIVE', 'undrain', { drain: null });
}

export async function setMaintenance(s: S, id: string, on: boolean): Promise<NodeView> {
  return on
    ? setMode(s, id, 'maintenanceOn', 'MAINTENANCE', 'put into maintenance', { drain: null })
    : setMode(s, id, 'maintenanceOff', 'ACTIVE', 'end maintenance of');
}

/**
 * Removes the node from the cluster: refuses its credential from now on, orders its tasks killed
 * (if its agent still answers) and marks them gone, so the reconciler replaces them elsewhere.
 */
export async function decommissionNode(
  s: S,
  id: string,
): Promise<{ id: string; hostname: string; tasksReplaced: number }> {
  const node = await load(s, id);
  if (node.mode === 'DECOMMISSIONED') return { id, hostname: node.hostname, tasksReplaced: 0 };
  const now = s.now();
  const tasks = await s.db.prisma.task.findMany({ where: { nodeId: id, state: { notIn: TERMINAL } } });
  await s.db.prisma.$transaction([
    s.db.prisma.node.update({
      where: { id },
      // An empty hash matches no credential: the agent's next hello is refused.
      data: {
        mode: 'DECOMMISSIONED',
        modeChangedAt: now,
        credentialHash: '',
        connected: false,
        drain: Prisma.DbNull,
      },
    }),
    s.db.prisma.task.updateMany({
      where: { nodeId: id, state: { notIn: TERMINAL } },
      data: { state: 'TASK_GONE', message: `node ${node.hostname} was decommissioned`, updatedAt: now },
    }),
  ]);
  for (const t of tasks) {
    if (!isTerminal(t.state as TaskState))
      s.agents.send(id, { type: 'killTask', taskId: t.id, gracePeriodSeconds: 3 });
  }
  s.agents.send(id, {
    type: 'error',
    code: 'DECOMMISSIONED',
    message: `node ${id} was decommissioned; to bring this host back, uninstall the agent and install it again with a new join token`,
  });
  s.agents.disconnect?.(id, 'decommissioned');
  await recordEvents(
    s,
    [
      { type: 'node_decommissioned', subject: id, payload: { hostname: node.hostname, tasks: tasks.length } },
      ...tasks.map((t) => ({
        type: 'status_update_event',
        ...(t.appId ? { subject: t.appId } : {}),
        payload: { taskId: t.id, appId: t.appId, taskStatus: 'TASK_GONE', message: 'node decommissioned' },
      })),
    ],
    'node',
  );
  s.poke();
  return { id, hostname: node.hostname, tasksReplaced: tasks.length };
}

const ATTRIBUTE_KEY = /^[A-Za-z0-9][A-Za-z0-9_.\-/]{0,62}$/;

/** Sets (and removes) operator attributes; they overlay the agent's own and constraints see both. */
export async function setAttributes(
  s: S,
  id: string,
  input: { set: Record<string, string>; remove: string[] },
): Promise<NodeView> {
  for (const key of [...Object.keys(input.set), ...input.remove]) {
    if (!ATTRIBUTE_KEY.test(key))
      throw AppError.invalid([
        {
          path: `attributes.${key}`,
          message: `key "${key}" must be 1–63 letters, digits, '_', '.', '-' or '/', starting with a letter or digit`,
        },
      ]);
  }
  for (const [key, value] of Object.entries(input.set)) {
    if (value.length > 255)
      throw AppError.invalid([{ path: `attributes.${key}`, message: 'value is longer than 255 characters' }]);
  }
  const node = await load(s, id);
  const next = { ...(node.operatorAttributes as Record<string, string>), ...input.set };
  for (const key of input.remove) delete next[key];
  await s.db.prisma.node.update({ where: { id }, data: { operatorAttributes: next } });
  await recordEvents(
    s,
    [
      {
        type: 'node_attributes_changed',
        subject: id,
        payload: { hostname: node.hostname, set: input.set, removed: input.remove },
      },
    ],
    'node',
  );
  s.poke();
  return getNode(s, id);
}

/** The part of the host kept for itself: never offered to tasks. */
export async function setReservation(
  s: S,
  id: string,
  input: { cpus: number; memMb: number },
): Promise<NodeView> {
  const node = await load(s, id);
  if (input.cpus > node.cpus)
    throw AppError.invalid([
      { path: 'cpus', message: `${input.cpus} is more than the node has (${node.cpus})` },
    ]);
  if (input.memMb > node.memMb)
    throw AppError.invalid([
      { path: 'memMb', message: `${input.memMb} is more than the node has (${node.memMb})` },
    ]);
  await s.db.prisma.node.update({
    where: { id },
    data: { reservedCpus: input.cpus, reservedMemMb: input.memMb },
  });
  await recordEvents(
    s,
    [{ type: 'node_reservation_changed', subject: id, payload: { hostname: node.hostname, ...input } }],
    'node',
  );
  s.poke();
  return getNode(s, id);
}

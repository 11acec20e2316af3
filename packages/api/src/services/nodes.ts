import { randomBytes } from 'node:crypto';
import { terminalTaskStates } from '@atoll/spec';
import { AppError } from '../errors';
import type { Services } from '../context';
import { newSecret, sha256 } from './auth';

export interface NodeView {
  id: string;
  hostname: string;
  address: string;
  runtime: string;
  status: string;
  mode: NodeMode;
  modeChangedAt: string | null;
  /** While DRAINING: tasks at the start, tasks left, and why the next cannot move. */
  drain: { total: number; remaining: number; blocked: string | null } | null;
  connected: boolean;
  agentVersion: string;
  attributes: Record<string, string>;
  agentAttributes: Record<string, string>;
  operatorAttributes: Record<string, string>;
  reserved: { cpus: number; memMb: number };
  registeredAt: string;
  lastHeartbeatAt: string | null;
  resources: { cpus: number; memMb: number; diskMb: number; portRange: [number, number] };
  allocated: { cpus: number; memMb: number; diskMb: number; ports: number };
  tasks: number;
}

export const NODE_MODES = ['ACTIVE', 'DRAINING', 'DRAINED', 'MAINTENANCE', 'DECOMMISSIONED'] as const;
export type NodeMode = (typeof NODE_MODES)[number];

/** What constraints see: the agent's attributes, overlaid by those an operator set later. */
export function effectiveAttributes(n: {
  attributes: unknown;
  operatorAttributes: unknown;
}): Record<string, string> {
  return { ...(n.attributes as Record<string, string>), ...(n.operatorAttributes as Record<string, string>) };
}

export async function listNodes(
  s: Pick<Services, 'db'>,
  opts: { includeDecommissioned?: boolean } = {},
): Promise<NodeView[]> {
  // What each node's active tasks hold, summed in the database: the list reads no task row.
  const [nodes, { rows: sums }] = await Promise.all([
    s.db.prisma.node.findMany({
      where: opts.includeDecommissioned ? {} : { mode: { not: 'DECOMMISSIONED' } },
      orderBy: { hostname: 'asc' },
    }),
    s.db.pool.query<{
      node_id: string;
      tasks: number;
      cpus: number;
      mem_mb: number;
      disk_mb: number;
      ports: number;
    }>(
      `SELECT node_id, count(*)::int AS tasks, sum(cpus) AS cpus, sum(mem_mb) AS mem_mb,
              sum(disk_mb) AS disk_mb, sum(jsonb_array_length(ports))::int AS ports
         FROM tasks WHERE state <> ALL($1::text[]) GROUP BY node_id`,
      [[...terminalTaskStates]],
    ),
  ]);
  const held = new Map(sums.map((r) => [r.node_id, r]));
  return nodes.map((n) => {
    const h = held.get(n.id) ?? { tasks: 0, cpus: 0, mem_mb: 0, disk_mb: 0, ports: 0 };
    const drain = n.drain as { total: number; blocked: string | null } | null;
    return {
      id: n.id,
      hostname: n.hostname,
      address: n.address,
      runtime: n.runtime,
      status: n.status,
      mode: n.mode as NodeMode,
      modeChangedAt: n.modeChangedAt?.toISOString() ?? null,
      drain:
        n.mode === 'DRAINING' || n.mode === 'DRAINED'
          ? {
              total: drain?.total ?? 0,
              remaining: h.tasks,
              blocked: n.mode === 'DRAINING' ? (drain?.blocked ?? null) : null,
            }
          : null,
      connected: n.connected,
      agentVersion: n.agentVersion,
      attributes: effectiveAttributes(n),
      agentAttributes: n.attributes as Record<string, string>,
      operatorAttributes: n.operatorAttributes as Record<string, string>,
      reserved: { cpus: n.reservedCpus, memMb: n.reservedMemMb },
      registeredAt: n.registeredAt.toISOString(),
      lastHeartbeatAt: n.lastHeartbeatAt?.toISOString() ?? null,
      resources: {
        cpus: n.cpus,
        memMb: n.memMb,
        diskMb: n.diskMb,
        portRange: [n.portRangeStart, n.portRangeEnd],
      },
      allocated: {
        cpus: round(h.cpus),
        memMb: round(h.mem_mb),
        diskMb: round(h.disk_mb),
        ports: h.ports,
      },
      tasks: h.tasks,
    };
  });
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

export async function getNode(s: Pick<Services, 'db'>, id: string): Promise<NodeView> {
  const node = (await listNodes(s, { includeDecommissioned: true })).find((n) => n.id === id);
  if (!node) throw AppError.notFound(`node ${id}`);
  return node;
}

export async function createJoinToken(
  s: Pick<Services, 'db' | 'config' | 'now'>,
  opts: {
    singleUse: boolean;
    expiresInSeconds: number;
    attributes: Record<string, string>;
    description?: string | undefined;
  },
): Promise<{ id: string; token: string; expiresAt: string; installLine: string }> {
  const token = newSecret('join');
  const expiresAt = new Date(s.now().getTime() + opts.expiresInSeconds * 1000);
  const row = await s.db.prisma.joinToken.create({
    data: {
      tokenHash: sha256(token),
      singleUse: opts.singleUse,
      attributes: opts.attributes,
      expiresAt,
      ...(opts.description ? { description: opts.description } : {}),
    },
  });
  return {
    id: row.id,
    token,
    expiresAt: expiresAt.toISOString(),
    installLine: `curl -fsSL ${s.config.publicUrl}/install/agent.sh | sudo sh -s -- --token ${token}`,
  };
}

export interface JoinTokenView {
  id: string;
  description: string | null;
  singleUse: boolean;
  usedCount: number;
  attributes: Record<string, string>;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  /** usable, or why not: revoked, expired, used. */
  status: 'usable' | 'revoked' | 'expired' | 'used';
  /** Nodes that joined with it. */
  nodes: number;
}

/** Join tokens, newest first (the secret itself is never stored, so never shown again). */
export async function listJoinTokens(s: Pick<Services, 'db' | 'now'>): Promise<JoinTokenView[]> {
  const rows = await s.db.prisma.joinToken.findMany({
    orderBy: { createdAt: 'desc' },
    include: { _count: { select: { nodes: true } } },
  });
  const now = s.now();
  return rows.map((t) => {
    const problem = joinTokenProblem(t, now);
    return {
      id: t.id,
      description: t.description,
      singleUse: t.singleUse,
      usedCount: t.usedCount,
      attributes: t.attributes as Record<string, string>,
      createdAt: t.createdAt.toISOString(),
      expiresAt: t.expiresAt?.toISOString() ?? null,
      revokedAt: t.revokedAt?.toISOString() ?? null,
      status:
        problem === null
          ? 'usable'
          : problem.includes('revoked')
            ? 'revoked'
            : problem.includes('expired')
              ? 'expired'
              : 'used',
      nodes: t._count.nodes,
    };
  });
}

export async function revokeJoinToken(s: Pick<Services, 'db' | 'now'>, id: string): Promise<void> {
  const { count } = await s.db.prisma.joinToken.updateMany({
    where: { id, revokedAt: null },
    data: { revokedAt: s.now() },
  });
  if (count === 0) throw AppError.notFound(`join token ${id}`);
}

/** Join token given to the local agent that `npm start` runs: multi-use, long-lived, reused across restarts. */
export async function ensureLocalJoinToken(
  s: Pick<Services, 'db' | 'config' | 'now'>,
  token: string,
): Promise<void> {
  await s.db.prisma.joinToken.upsert({
    where: { tokenHash: sha256(token) },
    create: { tokenHash: sha256(token), singleUse: false, attributes: {} },
    update: { revokedAt: null },
  });
}

export function newNodeCredential(): string {
  return `node_${randomBytes(32).toString('base64url')}`;
}

/** Why a join token cannot be used now (revoked, expired, used up), or null when it can. */
export function joinTokenProblem(
  token: { revokedAt: Date | null; expiresAt: Date | null; singleUse: boolean; usedCount: number } | null,
  now: Date,
): string | null {
  if (!token) return 'unknown join token';
  if (token.revokedAt) return 'join token was revoked';
  if (token.expiresAt && token.expiresAt <= now) return 'join token has expired';
  if (token.singleUse && token.usedCount > 0) return 'join token was already used';
  return null;
}

/** For the install script: refuses a token that would be refused at join, before installing. */
export async function checkJoinToken(
  s: Pick<Services, 'db' | 'now'>,
  token: string,
): Promise<{ ok: true; expiresAt: string | null }> {
  const row = await s.db.prisma.joinToken.findUnique({ where: { tokenHash: sha256(token) } });
  const problem = joinTokenProblem(row, s.now());
  if (problem) throw new AppError('UNAUTHORIZED', problem);
  return { ok: true, expiresAt: row!.expiresAt?.toISOString() ?? null };
}

import { tablesFingerprint } from '@atoll/db';
import type { Services } from '../context';

/**
 * Changes with any committed write to what the reconciler and the pushed views (DNS, VIPs) are
 * computed from: apps, tasks, deployments (row count and `xmin` sum), and the nodes' columns other
 * than their heartbeat time, which changes every few seconds for every node and decides nothing.
 * One round trip; passes and rebuilds whose inputs are unchanged are skipped.
 */
export async function stateFingerprint(s: Pick<Services, 'db'>): Promise<string> {
  const [tables, nodes] = await Promise.all([
    tablesFingerprint(s.db.pool, ['apps', 'tasks', 'deployments']),
    s.db.pool.query<{ f: string | null }>(
      `SELECT md5(string_agg(concat_ws('|', id, hostname, address, status, mode, connected, replica_id,
                drain, attributes, operator_attributes, cpus, mem_mb, disk_mb, reserved_cpus,
                reserved_mem_mb, port_range_start, port_range_end), ',' ORDER BY id)) AS f
       FROM nodes`,
    ),
  ]);
  return `${tables}/${nodes.rows[0]?.f ?? ''}`;
}

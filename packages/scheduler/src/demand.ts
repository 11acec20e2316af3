import { requestedPorts, type AppDefinition } from '@atoll/spec';
import type { Constraint, Demand } from './types';

/** `count` more instances of an app, as the scheduler needs them. */
export function demandFromApp(app: AppDefinition, count: number): Demand {
  return {
    appId: app.id,
    count,
    cpus: app.cpus,
    memMb: app.mem,
    diskMb: app.disk,
    ports: requestedPorts(app).map((p) => ({ hostPort: p.hostPort, protocol: p.protocol })),
    constraints: app.constraints.map((c): Constraint =>
      c[2] === undefined ? [c[0] ?? '', c[1] ?? ''] : [c[0] ?? '', c[1] ?? '', c[2]],
    ),
  };
}

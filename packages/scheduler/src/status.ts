import type { FilterStage } from './filter';

export const NODE_NOT_ACTIVE = 'node not active';

/** Only ACTIVE nodes take new work: UNREACHABLE ones may never start it, DRAINING ones are being emptied. */
export const statusFilter: FilterStage = () => (state) =>
  state.node.status === 'ACTIVE' ? undefined : { reason: NODE_NOT_ACTIVE };

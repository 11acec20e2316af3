export {
  HollowAgent,
  hollowAddress,
  startHollowAgents,
  type HollowAgents,
  type HollowAgentsOptions,
  type HollowTaskCounts,
} from './hollow';

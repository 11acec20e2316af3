import { seededShuffle, type Random } from './random';

/** Scores closer than this are equal; float noise must not decide where a task runs. */
export const SCORE_TIE = 1e-9;

/**
 * The best-scored option; options within SCORE_TIE of the best are tied and one is chosen by a
 * seeded shuffle, so equal nodes share the load across plans yet a plan can be replayed.
 */
export function pickBest<T>(
  options: ReadonlyArray<{ item: T; score: number }>,
  random: Random,
): T | undefined {
  if (options.length === 0) return undefined;
  // A loop rather than Math.max(...scores): a cluster's worth of arguments is slow, and can overflow the stack.
  let best = -Infinity;
  for (const o of options) if (o.score > best || Number.isNaN(o.score)) best = o.score;
  const tied = options.filter((o) => o.score >= best - SCORE_TIE).map((o) => o.item);
  return seededShuffle(tied, random)[0];
}

/** Deployments as the console shows them. Pure helpers; the views live in components/. */

/** Marathon's lock answer (HTTP 409 / tRPC CONFLICT) to a write on an app under deployment. */
export function isLockMessage(message: string): boolean {
  return /locked by one or more deployments/i.test(message);
}

/** Marathon's deployment action names, in words. */
const actionWords: Record<string, string> = {
  StartApplication: 'Start',
  StopApplication: 'Stop',
  ScaleApplication: 'Scale',
  RestartApplication: 'Restart',
  ResolveArtifacts: 'Resolve artifacts',
  StartPod: 'Start pod',
  StopPod: 'Stop pod',
  ScalePod: 'Scale pod',
  RestartPod: 'Restart pod',
};

export function actionLabel(action: string): string {
  return actionWords[action] ?? action.replace(/([a-z])([A-Z])/g, '$1 $2');
}

export interface AppProgress {
  appId: string;
  instances: number;
  updated: number;
  old: number;
  healthy: number;
}

/** Percentage of the wanted instances already on the new version (healthy and ready). */
export function progressPercent(p: AppProgress): number {
  if (p.instances <= 0) return p.old === 0 ? 100 : 0;
  return Math.max(0, Math.min(100, Math.round((p.updated / p.instances) * 100)));
}

export function progressLabel(p: AppProgress): string {
  const parts = [
    p.instances === 0 ? 'stopping' : `${p.updated} of ${p.instances} updated`,
    ...(p.old > 0 ? [`${p.old} old ${p.old === 1 ? 'task' : 'tasks'} remaining`] : []),
  ];
  return parts.join(' · ');
}

/** Deployments whose affected apps include `appId`. */
export function deploymentsOf<D extends { affectedApps: readonly string[] }>(
  list: readonly D[],
  appId: string,
): D[] {
  return list.filter((d) => d.affectedApps.includes(appId));
}

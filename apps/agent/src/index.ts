import { Agent, type AgentOptions } from './agent';
import type { AgentConfig } from './env';

export { Agent, agentSocketUrl, type AgentOptions } from './agent';
export {
  AgentConfigError,
  loadAgentConfig,
  type AgentConfig,
  type LogLevel,
  type RuntimeChoice,
} from './env';
export { AGENT_VERSION } from './version';
export type { ExitListener, LaunchResult, ObservedTask, Runtime, TaskExit } from './runtime/types';
export { DockerRuntime } from './runtime/docker';
export { ExecRuntime } from './runtime/exec';
export { selectRuntime, probeDocker } from './runtime/select';

/**
 * Starts an agent: picks the runtime, re-adopts the tasks it already has, and connects to control
 * (retrying until control answers). Resolves once started, not once connected. Call `stop()` on
 * the result to disconnect; tasks keep running.
 */
export async function startAgent(config: AgentConfig, options: AgentOptions = {}): Promise<Agent> {
  const agent = new Agent(config, options);
  await agent.start();
  return agent;
}

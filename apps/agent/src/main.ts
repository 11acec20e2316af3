import { AgentConfigError, loadAgentConfig, type AgentConfig } from './env';
import { startAgent } from './index';

let config: AgentConfig;
try {
  config = loadAgentConfig(process.env);
} catch (err) {
  if (err instanceof AgentConfigError) {
    console.error(`atoll-agent: refusing to start: ${err.problems.join('\n  ')}`);
    process.exit(1);
  }
  throw err;
}

try {
  const agent = await startAgent(config);
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    console.error(`atoll-agent: ${signal}: disconnecting (tasks keep running)`);
    agent.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error('atoll-agent: stopping failed', err);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
} catch (err) {
  console.error(`atoll-agent: cannot start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}

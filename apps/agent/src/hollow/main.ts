/**
 * `node --import tsx apps/agent/src/hollow/main.ts --url URL --token JOIN_TOKEN --count N
 * [--prefix hollow] [--fail-launch 0.1] [--fail-health 0.1]`: runs N hollow agents in this process
 * until SIGINT/SIGTERM, printing how many are connected and how many tasks they hold every 10 s.
 */
import { parseArgs } from 'node:util';
import { startHollowAgents } from './hollow';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    token: { type: 'string' },
    count: { type: 'string', default: '100' },
    prefix: { type: 'string', default: 'hollow' },
    'fail-launch': { type: 'string', default: '0' },
    'fail-health': { type: 'string', default: '0' },
  },
});
const count = Number(values.count);
if (!values.url || !values.token || !Number.isInteger(count) || count <= 0) {
  console.error(
    'usage: hollow --url http://control:7700 --token JOIN_TOKEN --count N [--prefix P] [--fail-launch R] [--fail-health R]',
  );
  process.exit(2);
}
const hollow = startHollowAgents({
  url: values.url,
  joinToken: values.token,
  count,
  hostnamePrefix: values.prefix,
  failLaunchRatio: Number(values['fail-launch']),
  failHealthRatio: Number(values['fail-health']),
});
const report = setInterval(() => {
  const t = hollow.tasks();
  console.log(
    `${hollow.connected()}/${count} connected; tasks: ${t.running} running, ${t.live} live, ${t.launches} launches`,
  );
}, 10_000);
const shutdown = () => {
  clearInterval(report);
  void hollow.stop().then(() => process.exit(0));
};
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);

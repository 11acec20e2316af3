import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { nodesService, SecretKeyError, type SecretKeyring } from '@atoll/api';
import pino from 'pino';
import { startControl } from './control';
import { startEmbeddedPostgres } from './embedded-postgres';
import { ConfigError, loadControlConfig, type ControlConfig } from './env';
import { spawnLocalAgent, type LocalAgent } from './local-agent';
import { loadSecretKeyring } from './secret-keys';

async function main(): Promise<void> {
  let env: ControlConfig;
  try {
    env = loadControlConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`atoll-control: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
  const log = pino({ level: env.ATOLL_LOG_LEVEL, base: { service: 'atoll-control' } });
  const dataDir = path.resolve(env.ATOLL_DATA_DIR);
  // Traverse-only for others: as root, the embedded PostgreSQL runs as the `postgres` user and must
  // reach its directory inside. Everything secret in here is a 0600 file or a 0700 directory.
  await mkdir(dataDir, { recursive: true, mode: 0o711 });
  await chmod(dataDir, 0o711);

  let secretKeys: SecretKeyring;
  try {
    secretKeys = await loadSecretKeyring({
      keys: env.ATOLL_SECRET_KEYS,
      keyFile: env.ATOLL_SECRET_KEY_FILE,
      dataDir,
      log,
    });
  } catch (err) {
    if (err instanceof SecretKeyError) {
      console.error(`atoll-control: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }

  const embedded = env.DATABASE_URL ? null : await startEmbeddedPostgres(dataDir, log);
  const databaseUrl = env.DATABASE_URL ?? embedded!.url;
  const control = await startControl({
    databaseUrl,
    bind: env.ATOLL_BIND,
    port: env.ATOLL_PORT,
    clusterName: env.ATOLL_CLUSTER_NAME,
    ...(env.ATOLL_PUBLIC_URL ? { publicUrl: env.ATOLL_PUBLIC_URL } : {}),
    heartbeatIntervalMs: env.ATOLL_HEARTBEAT_INTERVAL_MS,
    heartbeatTimeoutMs: env.ATOLL_HEARTBEAT_TIMEOUT_MS,
    console: env.ATOLL_CONSOLE,
    log,
    ...(env.ATOLL_ADMIN_PASSWORD ? { adminPassword: env.ATOLL_ADMIN_PASSWORD } : {}),
    edgePort: env.ATOLL_EDGE_PORT === 'off' ? null : env.ATOLL_EDGE_PORT,
    ...(env.ATOLL_EDGE_BIND ? { edgeBind: env.ATOLL_EDGE_BIND } : {}),
    dnsPort: env.ATOLL_DNS_PORT === 'off' ? null : env.ATOLL_DNS_PORT,
    ...(env.ATOLL_DNS_BIND ? { dnsBind: env.ATOLL_DNS_BIND } : {}),
    dnsSuffix: env.ATOLL_DNS_SUFFIX,
    secretKeys,
    auditRetentionDays: env.ATOLL_AUDIT_RETENTION_DAYS,
    trustProxy: env.ATOLL_TRUST_PROXY,
    ...(env.ATOLL_INTERNAL_URL ? { internalUrl: env.ATOLL_INTERNAL_URL } : {}),
  });
  const admin = control.admin;

  let agent: LocalAgent | null = null;
  if (env.ATOLL_LOCAL_AGENT) {
    // The local agent's join token is kept under the data dir so restarts reuse the same node.
    const tokenFile = path.join(dataDir, 'local-join-token');
    const token = existsSync(tokenFile)
      ? (await readFile(tokenFile, 'utf8')).trim()
      : `join_${randomBytes(24).toString('base64url')}`;
    await writeFile(tokenFile, token, { mode: 0o600 });
    await nodesService.ensureLocalJoinToken(control.services, token);
    agent = spawnLocalAgent({
      controlUrl: control.url,
      joinToken: token,
      stateDir: path.join(dataDir, 'agent'),
      log,
      inheritOutput: true,
    });
  }

  const lines = [
    '',
    `  Atoll is running at ${control.url}`,
    admin.generatedPassword
      ? `  First login: admin / ${admin.generatedPassword}   (shown once; change it or set ATOLL_ADMIN_PASSWORD)`
      : admin.created
        ? '  First login: admin / the password in ATOLL_ADMIN_PASSWORD'
        : '  Log in as admin with the password set at the first start',
    `  CLI: atoll cluster setup ${control.url}`,
    '',
  ];
  process.stdout.write(lines.join('\n') + '\n');

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down (tasks keep running)');
    await agent?.stop();
    await control.stop();
    await embedded?.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error('atoll-control failed to start:', err);
  process.exit(1);
});

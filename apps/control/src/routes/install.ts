import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AGENT_NODE_FLAGS, ensureAgentBundle } from '@atoll/agent/bundle';
import { AppError, nodesService, type Services } from '@atoll/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';

const scriptPath = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'install', 'agent.sh');

/** `uname -m`'s name for the architecture control runs on (the agent it serves runs there too). */
export function unameArch(arch: string = process.arch): string {
  return (
    (
      { x64: 'x86_64', arm64: 'aarch64', arm: 'armv7l', ppc64: 'ppc64le', s390x: 's390x' } as Record<
        string,
        string
      >
    )[arch] ?? arch
  );
}

/** The URL the host used to reach control, so the script fetches the agent the same way. */
function baseUrl(req: FastifyRequest, fallback: string): string {
  const host = req.headers['x-forwarded-host'] ?? req.headers.host;
  if (typeof host !== 'string' || !/^[A-Za-z0-9.\-:[\]]+$/.test(host)) return fallback;
  const proto = req.headers['x-forwarded-proto'] === 'https' ? 'https' : req.protocol;
  return `${proto}://${host}`;
}

let bundle: Promise<string> | null = null;

/**
 * What a new host fetches, without credentials (the join token in the install line is the
 * secret, and none of these hold one):
 * - `GET /install/agent.sh`: the install script, with this control's URL and architecture;
 * - `GET /install/atoll-agent.mjs`: the agent as one bundled file;
 * - `GET /install/node`: the Node.js binary control runs on, which the agent runs on (so the host
 *   needs no Node.js of its own);
 * - `POST /install/token-check {"token"}`: 200, or 401 saying why the token would be refused.
 */
export function registerInstallRoutes(app: FastifyInstance, s: Services): void {
  app.get('/install/agent.sh', { config: { access: 'public' } }, async (req, reply) => {
    const text = (await readFile(scriptPath, 'utf8'))
      .replaceAll('@@CONTROL_URL@@', baseUrl(req, s.config.publicUrl))
      .replaceAll('@@ARCH@@', unameArch())
      .replaceAll('@@NODE_FLAGS@@', AGENT_NODE_FLAGS.join(' '));
    return reply.type('text/x-shellscript; charset=utf-8').header('cache-control', 'no-store').send(text);
  });

  app.get('/install/atoll-agent.mjs', { config: { access: 'public' } }, async (_req, reply) => {
    bundle ??= ensureAgentBundle().catch((err: unknown) => {
      bundle = null;
      throw err;
    });
    const file = await bundle;
    return reply
      .type('text/javascript; charset=utf-8')
      .header('content-length', (await stat(file)).size)
      .send(createReadStream(file));
  });

  app.get('/install/node', { config: { access: 'public' } }, async (_req, reply) => {
    const file = process.execPath;
    return reply
      .type('application/octet-stream')
      .header('content-length', (await stat(file)).size)
      .header('x-node-version', process.version)
      .send(createReadStream(file));
  });

  app.post('/install/token-check', { config: { access: 'public' } }, async (req, reply) => {
    const body = z.object({ token: z.string().min(1, 'token is required') }).safeParse(req.body);
    if (!body.success)
      return reply.code(400).send({ message: `token: ${body.error.issues[0]?.message ?? 'required'}` });
    try {
      return await nodesService.checkJoinToken(s, body.data.token);
    } catch (err) {
      if (err instanceof AppError)
        return reply.code(err.httpStatus).send({ message: err.message, code: err.code });
      throw err;
    }
  });
}

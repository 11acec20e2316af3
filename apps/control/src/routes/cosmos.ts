import { AppError, accessService, catalogService, type Services } from '@atoll/api';
import type { RouteAccess } from '../access-hook';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';

/**
 * Cosmos's REST API (`/package/*`), so the DC/OS CLI and scripts keep working: every route is a
 * POST of JSON (Cosmos's `application/vnd.dcos.package.*+json` media types are accepted) calling
 * the same service functions as tRPC. Errors are Cosmos's `{ type, message, data }`.
 */
export function registerCosmosRoutes(app: FastifyInstance, services: Services): void {
  app.addContentTypeParser(
    /^application\/vnd\.dcos\.[\w.-]+\+json/,
    { parseAs: 'string' },
    (_req, body, done) => {
      try {
        done(null, body === '' ? {} : JSON.parse(String(body)));
      } catch {
        const err = new Error('the request body is not JSON') as Error & { statusCode: number };
        err.statusCode = 400;
        done(err, undefined);
      }
    },
  );

  // Every route is a POST: each says what it needs (reads are `read`, repositories `admin`), and its
  // function gets the services acting for the request's user (the service layer checks the scope).
  const route = <T extends z.ZodType>(
    op: string,
    schema: T,
    fn: (input: z.output<T>, s: Services) => Promise<unknown>,
    access: RouteAccess = 'operate',
  ) =>
    app.post(`/package/${op}`, { config: { access } }, async (req: FastifyRequest, reply: FastifyReply) => {
      const parsed = schema.safeParse(req.body ?? {});
      if (!parsed.success) {
        const errors = parsed.error.issues.map((i) => ({
          path: i.path.join('.') || '(body)',
          message: i.message,
        }));
        return reply.code(400).send({
          type: 'JsonSchemaMismatch',
          message: errors.map((e) => `${e.path}: ${e.message}`).join('; '),
          data: { errors },
        });
      }
      try {
        const body = await fn(parsed.data, accessService.withActor(services, req.user));
        return reply
          .type(`application/vnd.dcos.package.${op.replace('/', '.')}-response+json;charset=utf-8;version=v1`)
          .send(body);
      } catch (err) {
        return sendCosmosError(reply, err);
      }
    });

  const name = z.string({ error: 'packageName is required' }).min(1, 'packageName is required');
  const version = z.string().min(1).optional();
  const options = z.record(z.string(), z.unknown(), { error: 'options must be a JSON object' }).optional();
  const appId = z.string().min(1).optional();

  route(
    'search',
    z.object({ query: z.string().default('') }),
    async ({ query }, s) => ({
      packages: await catalogService.searchPackages(s, query),
    }),
    'read',
  );
  route(
    'describe',
    z.object({ packageName: name, packageVersion: version }),
    async (i, s) => {
      const d = await catalogService.describePackage(s, i.packageName, i.packageVersion);
      return { package: d.package, versions: d.versions };
    },
    'read',
  );
  route(
    'list-versions',
    z.object({ packageName: name, includePackageVersions: z.boolean().optional() }),
    async (i, s) => ({
      results: await catalogService.listVersions(s, i.packageName),
    }),
    'read',
  );
  route(
    'render',
    z.object({ packageName: name, packageVersion: version, options, appId }),
    async (i, s) => ({
      marathonJson: await catalogService.renderPackage(s, i),
    }),
    'read',
  );
  route('install', z.object({ packageName: name, packageVersion: version, options, appId }), async (i, s) => {
    const r = await catalogService.installPackage(s, i);
    return {
      packageName: r.packageName,
      packageVersion: r.packageVersion,
      appId: r.appId,
      ...(r.postInstallNotes ? { postInstallNotes: r.postInstallNotes } : {}),
      deploymentId: r.deploymentId,
    };
  });
  route('uninstall', z.object({ packageName: name, appId, all: z.boolean().optional() }), async (i, s) => ({
    results: (await catalogService.uninstallPackage(s, i)).map((r) => ({
      packageName: r.packageName,
      appId: r.appId,
      packageVersion: r.packageVersion,
      ...(r.postUninstallNotes ? { postUninstallNotes: r.postUninstallNotes } : {}),
    })),
  }));
  route(
    'list',
    z.object({ packageName: z.string().optional(), appId }),
    async (i, s) => ({
      packages: await Promise.all(
        (await catalogService.listInstalled(s, i)).map(async (p) => ({
          appId: p.appId,
          packageInformation: {
            packageDefinition: await catalogService
              .describePackage(s, p.packageName, p.packageVersion)
              .then((d) => d.package)
              .catch(() => ({ name: p.packageName, version: p.packageVersion })),
          },
          status: p.status,
        })),
      ),
    }),
    'read',
  );
  const repositories = async (s: Services) => ({
    // Cosmos's shape; `skipped` (entries Atoll could not read) is added only where there are some.
    repositories: (await catalogService.listRepositories(s)).map((r) => ({
      name: r.name,
      uri: r.uri,
      ...(r.skipped.length > 0 ? { skipped: r.skipped } : {}),
    })),
  });
  route('repository/list', z.object({}), (_i, s) => repositories(s), 'read');
  route(
    'repository/add',
    z.object({
      name: z.string({ error: 'name is required' }).min(1, 'name is required'),
      uri: z.string({ error: 'uri is required' }).min(1, 'uri is required'),
      index: z.number().int().min(0).optional(),
    }),
    async (i, s) => {
      await catalogService.addRepository(s, i);
      return repositories(s);
    },
    'admin',
  );
  route(
    'repository/delete',
    z.object({ name: z.string().optional(), uri: z.string().optional() }),
    async (i, s) => {
      await catalogService.removeRepository(s, i);
      return repositories(s);
    },
    'admin',
  );
}

const cosmosTypes: Record<string, string> = {
  INVALID_INPUT: 'JsonSchemaMismatch',
  NOT_FOUND: 'PackageNotFound',
  CONFLICT: 'PackageAlreadyInstalled',
  BAD_REQUEST: 'BadRequest',
};

function sendCosmosError(reply: FastifyReply, err: unknown): FastifyReply {
  if (!(err instanceof AppError)) throw err;
  const status = err.code === 'INVALID_INPUT' ? 400 : err.httpStatus;
  return reply.code(status).send({
    type: cosmosTypes[err.code] ?? err.code,
    message: err.message,
    ...(err.issues ? { data: { errors: err.issues } } : {}),
  });
}

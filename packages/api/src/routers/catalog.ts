import { z } from 'zod';
import { protectedProcedure, router } from '../trpc';
import * as catalog from '../services/catalog';

const tags = ['packages'];
const packageName = z.string().min(1, 'packageName is required');
const packageVersion = z.string().min(1, 'packageVersion must not be empty').optional();
const options = z.record(z.string(), z.unknown(), { error: 'options must be a JSON object' }).optional();
const appId = z.string().min(1, 'appId must not be empty').optional();
const json = z.record(z.string(), z.unknown());

const repositoryView = z.object({
  name: z.string(),
  uri: z.string(),
  priority: z.number(),
  packages: z.number(),
  skipped: z.array(
    z.object({
      index: z.number(),
      path: z.string().optional(),
      name: z.string().optional(),
      version: z.string().optional(),
      reason: z.string(),
    }),
  ),
  fetchedAt: z.string().nullable(),
});

const packageSummary = z.object({
  name: z.string(),
  currentVersion: z.string(),
  versions: z.record(z.string(), z.string()),
  description: z.string(),
  framework: z.boolean(),
  tags: z.array(z.string()),
  selected: z.boolean(),
  images: json,
  repository: z.string(),
});

const installedView = z.object({
  appId: z.string(),
  packageName: z.string(),
  packageVersion: z.string(),
  source: z.string(),
  options: json,
  installedAt: z.string(),
  updatedAt: z.string(),
  status: z.string(),
  apps: z.array(
    z.object({
      id: z.string(),
      status: z.string(),
      instances: z.number(),
      tasksRunning: z.number(),
      tasksHealthy: z.number(),
      tasksUnhealthy: z.number(),
    }),
  ),
  images: json,
  postInstallNotes: z.string().nullable(),
});

const upgradePreview = z.object({
  appId: z.string(),
  packageName: z.string(),
  fromVersion: z.string(),
  toVersion: z.string(),
  from: json,
  to: json,
  create: z.array(z.string()),
  change: z.array(z.string()),
  remove: z.array(z.string()),
});

const upgradeInput = z.object({ appId: z.string().min(1, 'appId is required'), packageVersion, options });

/** The catalog (DC/OS's Cosmos) in tRPC, and in REST under /api/v1/packages. */
export const catalogRouter = router({
  search: protectedProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/packages',
        tags,
        protect: true,
        summary: 'Search packages by name, tag and text',
      },
    })
    .input(z.object({ query: z.string().default('') }).default({ query: '' }))
    .output(z.array(packageSummary))
    .query(({ ctx, input }) => catalog.searchPackages(ctx, input.query)),
  describe: protectedProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/packages/describe',
        tags,
        protect: true,
        summary: 'A package version with its options schema',
      },
    })
    .input(z.object({ packageName, packageVersion }))
    .output(
      z.object({
        package: json,
        versions: z.array(z.string()),
        repository: z.object({ name: z.string(), uri: z.string() }),
      }),
    )
    .query(({ ctx, input }) => catalog.describePackage(ctx, input.packageName, input.packageVersion)),
  versions: protectedProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/packages/versions',
        tags,
        protect: true,
        summary: 'Version → release of a package',
      },
    })
    .input(z.object({ packageName }))
    .output(z.record(z.string(), z.string()))
    .query(({ ctx, input }) => catalog.listVersions(ctx, input.packageName)),
  render: protectedProcedure
    .meta({
      access: 'read',
      openapi: {
        method: 'POST',
        path: '/packages/render',
        tags,
        protect: true,
        summary: 'The app or group an install would create',
      },
    })
    .input(z.object({ packageName, packageVersion, options, appId }))
    .output(json)
    .mutation(({ ctx, input }) => catalog.renderPackage(ctx, input)),
  install: protectedProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/packages/install',
        tags,
        protect: true,
        summary: 'Install a package as one deployment',
      },
    })
    .input(z.object({ packageName, packageVersion, options, appId }))
    .output(
      z.object({
        packageName: z.string(),
        packageVersion: z.string(),
        appId: z.string(),
        appIds: z.array(z.string()),
        deploymentId: z.string(),
        postInstallNotes: z.string().nullable(),
      }),
    )
    .mutation(({ ctx, input }) => catalog.installPackage(ctx, input)),
  installed: protectedProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/packages/installed',
        tags,
        protect: true,
        summary: 'Installed packages with their apps and health',
      },
    })
    .input(z.object({ packageName: z.string().optional(), appId }).default({}))
    .output(z.array(installedView))
    .query(({ ctx, input }) => catalog.listInstalled(ctx, input)),
  uninstall: protectedProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/packages/uninstall',
        tags,
        protect: true,
        summary: 'Remove the apps a package created, and nothing else',
      },
    })
    .input(z.object({ packageName, appId, all: z.boolean().default(false) }))
    .output(
      z.array(
        z.object({
          packageName: z.string(),
          appId: z.string(),
          packageVersion: z.string(),
          postUninstallNotes: z.string().nullable(),
          removedApps: z.array(z.string()),
        }),
      ),
    )
    .mutation(({ ctx, input }) => catalog.uninstallPackage(ctx, input)),
  upgradePreview: protectedProcedure
    .meta({
      access: 'read',
      openapi: {
        method: 'POST',
        path: '/packages/upgrade/preview',
        tags,
        protect: true,
        summary: 'What an upgrade would change',
      },
    })
    .input(upgradeInput)
    .output(upgradePreview)
    .mutation(({ ctx, input }) => catalog.previewUpgrade(ctx, input)),
  upgrade: protectedProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/packages/upgrade',
        tags,
        protect: true,
        summary: 'Upgrade to another version or other options',
      },
    })
    .input(upgradeInput)
    .output(upgradePreview.extend({ deploymentIds: z.array(z.string()) }))
    .mutation(({ ctx, input }) => catalog.upgradePackage(ctx, input)),
  repositories: protectedProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/packages/repositories',
        tags,
        protect: true,
        summary: 'Repositories in priority order',
      },
    })
    .input(z.void())
    .output(z.array(repositoryView))
    .query(({ ctx }) => catalog.listRepositories(ctx)),
  addRepository: protectedProcedure
    .meta({
      access: 'admin',
      openapi: {
        method: 'POST',
        path: '/packages/repositories',
        tags,
        protect: true,
        summary: 'Add a Universe repository by URL or path',
      },
    })
    .input(
      z.object({
        name: z.string().trim().min(1, 'name is required').max(100, 'name must be at most 100 characters'),
        uri: z.string().trim().min(1, 'uri is required'),
        index: z.number().int('index must be a whole number').min(0, 'index must be 0 or more').optional(),
      }),
    )
    .output(z.array(repositoryView))
    .mutation(({ ctx, input }) => catalog.addRepository(ctx, input)),
  removeRepository: protectedProcedure
    .meta({
      access: 'admin',
      openapi: {
        method: 'DELETE',
        path: '/packages/repositories',
        tags,
        protect: true,
        summary: 'Remove a repository by name or uri',
      },
    })
    .input(z.object({ name: z.string().optional(), uri: z.string().optional() }))
    .output(z.array(repositoryView))
    .mutation(({ ctx, input }) => catalog.removeRepository(ctx, input)),
});

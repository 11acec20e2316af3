import { z } from 'zod';

/**
 * A Universe package version as it sits in a repository directory (packagingVersion 2.0–5.0; 5.0 adds only fields Atoll passes on):
 * `package.json`, `config.json` (a JSON Schema of the options), `marathon.json.mustache` and
 * `resource.json`. Unknown fields are kept: Universe has many and Cosmos passes them on.
 */
export const packageMetadataSchema = z.looseObject({
  // Universe's v2 schema left packagingVersion out: a package.json without it is 2.0.
  packagingVersion: z
    .enum(['2.0', '3.0', '4.0', '5.0'], { error: 'packagingVersion must be 2.0, 3.0, 4.0 or 5.0' })
    .default('2.0'),
  name: z.string().min(1, 'name is required'),
  version: z.string().min(1, 'version is required'),
  description: z.string().default(''),
  tags: z.array(z.string()).default([]),
  maintainer: z.string().default(''),
  licenses: z.array(z.looseObject({ name: z.string(), url: z.string().optional() })).default([]),
  preInstallNotes: z.string().optional(),
  postInstallNotes: z.string().optional(),
  postUninstallNotes: z.string().optional(),
  selected: z.boolean().default(false),
  framework: z.boolean().default(false),
  upgradesFrom: z.array(z.string()).optional(),
  downgradesTo: z.array(z.string()).optional(),
  minDcosReleaseVersion: z.string().optional(),
  website: z.string().optional(),
  scm: z.string().optional(),
});
export type PackageMetadata = z.infer<typeof packageMetadataSchema>;

export const resourceSchema = z.looseObject({
  images: z.record(z.string(), z.unknown()).optional(),
  assets: z
    .looseObject({
      container: z.looseObject({ docker: z.record(z.string(), z.string()).optional() }).optional(),
    })
    .optional(),
});
export type PackageResource = z.infer<typeof resourceSchema>;

/** One version of a package: everything Cosmos needs to describe and render it. */
export interface PackageDefinition {
  metadata: PackageMetadata;
  /** JSON Schema of the install options (config.json), or null when the package has none. */
  config: Record<string, unknown> | null;
  /** marathon.json.mustache, or null for a package without a Marathon template. */
  marathonTemplate: string | null;
  resource: PackageResource;
}

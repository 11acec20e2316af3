import { defineConfig } from 'prisma/config';

// Prisma 7 reads its settings from here rather than from schema.prisma. In this repository the
// Prisma CLI is only used for `prisma generate` (scripts/prisma-generate.mjs): its migrate commands
// need a native engine that is downloaded at run time, so migrations are authored with
// `npm run db:migration -- <name>` and applied by our own runner (packages/db/README.md).
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  // Only read by CLI commands that talk to a database (studio, db pull); generate ignores it.
  // A plain fallback rather than env(), which throws when the variable is unset and would break
  // `prisma generate` in a fresh checkout.
  datasource: { url: process.env.DATABASE_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/postgres' },
});

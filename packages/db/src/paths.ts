import { fileURLToPath } from 'node:url';

// The schema and migrations live in the repository's top-level prisma/ (see DESIGN.md). They are
// located from this file rather than from process.cwd(), so that control, tests and scripts find
// them wherever they are started from. A bundled build moves this code, so it must either ship
// prisma/migrations at the same relative place or pass its own directory to applyMigrations.

/** Absolute path of prisma/migrations. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../../prisma/migrations', import.meta.url));

/** Absolute path of prisma/schema.prisma. */
export const SCHEMA_PATH = fileURLToPath(new URL('../../../prisma/schema.prisma', import.meta.url));

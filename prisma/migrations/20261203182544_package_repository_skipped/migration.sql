-- AlterTable
ALTER TABLE "package_repositories" ADD COLUMN     "skipped" JSONB NOT NULL DEFAULT '[]';

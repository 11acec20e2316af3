-- AlterTable
ALTER TABLE "deployments" ADD COLUMN     "original" JSONB NOT NULL DEFAULT '{}';

-- AlterTable
ALTER TABLE "tasks" ADD COLUMN     "health" JSONB,
ADD COLUMN     "readiness" JSONB,
ADD COLUMN     "ready" BOOLEAN;

-- AlterTable
ALTER TABLE "nodes" ADD COLUMN     "replica_id" UUID;

-- CreateTable
CREATE TABLE "control_replicas" (
    "id" UUID NOT NULL,
    "url" TEXT NOT NULL,
    "token" TEXT NOT NULL,
    "started_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "control_replicas_pkey" PRIMARY KEY ("id")
);

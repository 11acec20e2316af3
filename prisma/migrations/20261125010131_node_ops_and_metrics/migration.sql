-- AlterTable
ALTER TABLE "join_tokens" ADD COLUMN     "description" TEXT;

-- AlterTable
ALTER TABLE "nodes" ADD COLUMN     "drain" JSONB,
ADD COLUMN     "mode" TEXT NOT NULL DEFAULT 'ACTIVE',
ADD COLUMN     "mode_changed_at" TIMESTAMPTZ(3),
ADD COLUMN     "operator_attributes" JSONB NOT NULL DEFAULT '{}',
ADD COLUMN     "reserved_cpus" DOUBLE PRECISION NOT NULL DEFAULT 0,
ADD COLUMN     "reserved_mem_mb" DOUBLE PRECISION NOT NULL DEFAULT 0;

-- CreateTable
CREATE TABLE "node_metrics" (
    "node_id" UUID NOT NULL,
    "resolution" INTEGER NOT NULL DEFAULT 0,
    "at" TIMESTAMPTZ(3) NOT NULL,
    "cpu_used_cores" DOUBLE PRECISION NOT NULL,
    "cpu_cores" DOUBLE PRECISION NOT NULL,
    "mem_used_bytes" DOUBLE PRECISION NOT NULL,
    "mem_total_bytes" DOUBLE PRECISION NOT NULL,
    "disk_used_bytes" DOUBLE PRECISION NOT NULL,
    "disk_total_bytes" DOUBLE PRECISION NOT NULL,
    "net_rx_bytes_per_sec" DOUBLE PRECISION NOT NULL,
    "net_tx_bytes_per_sec" DOUBLE PRECISION NOT NULL,
    "load1" DOUBLE PRECISION NOT NULL,
    "load5" DOUBLE PRECISION NOT NULL,
    "load15" DOUBLE PRECISION NOT NULL,

    CONSTRAINT "node_metrics_pkey" PRIMARY KEY ("node_id","resolution","at")
);

-- CreateTable
CREATE TABLE "task_metrics" (
    "task_id" TEXT NOT NULL,
    "app_id" TEXT NOT NULL,
    "node_id" UUID NOT NULL,
    "resolution" INTEGER NOT NULL DEFAULT 0,
    "at" TIMESTAMPTZ(3) NOT NULL,
    "cpu_used_cores" DOUBLE PRECISION NOT NULL,
    "mem_used_bytes" DOUBLE PRECISION NOT NULL,
    "mem_limit_bytes" DOUBLE PRECISION,
    "net_rx_bytes_per_sec" DOUBLE PRECISION NOT NULL,
    "net_tx_bytes_per_sec" DOUBLE PRECISION NOT NULL,
    "restarts" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "task_metrics_pkey" PRIMARY KEY ("task_id","resolution","at")
);

-- CreateIndex
CREATE INDEX "node_metrics_resolution_at_idx" ON "node_metrics"("resolution", "at");

-- CreateIndex
CREATE INDEX "task_metrics_app_id_resolution_at_idx" ON "task_metrics"("app_id", "resolution", "at");

-- CreateIndex
CREATE INDEX "task_metrics_resolution_at_idx" ON "task_metrics"("resolution", "at");

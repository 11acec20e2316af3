-- CreateTable
CREATE TABLE "package_repositories" (
    "name" TEXT NOT NULL,
    "uri" TEXT NOT NULL,
    "priority" INTEGER NOT NULL,
    "index" JSONB,
    "fetched_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "package_repositories_pkey" PRIMARY KEY ("name")
);

-- CreateTable
CREATE TABLE "package_installs" (
    "app_id" TEXT NOT NULL,
    "package_name" TEXT NOT NULL,
    "package_version" TEXT NOT NULL,
    "source" TEXT NOT NULL,
    "options" JSONB NOT NULL DEFAULT '{}',
    "definition" JSONB NOT NULL,
    "app_ids" TEXT[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "package_installs_pkey" PRIMARY KEY ("app_id")
);

-- CreateIndex
CREATE UNIQUE INDEX "package_repositories_uri_key" ON "package_repositories"("uri");

-- CreateIndex
CREATE INDEX "package_installs_package_name_idx" ON "package_installs"("package_name");

-- The catalog that ships with Atoll is the first repository (an operator may remove it).
INSERT INTO "package_repositories" ("name", "uri", "priority") VALUES ('Atoll', 'builtin:', 0);

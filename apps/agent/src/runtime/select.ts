import path from 'node:path';
import Docker from 'dockerode';
import type { AgentConfig } from '../env';
import type { Logger } from '../logger';
import { DockerRuntime } from './docker';
import { ExecRuntime } from './exec';
import { RoutingRuntime } from './routing';
import type { Runtime } from './types';

export type DockerProbe = { ok: true; version: string } | { ok: false; reason: string };

/** Asks the Docker Engine at `socketPath` whether it answers, and its version ("20.10.24"). */
export async function probeDocker(socketPath: string, timeoutMs = 3_000): Promise<DockerProbe> {
  const docker = new Docker({ socketPath });
  // dockerode accepts an abort signal here; its type definitions do not say so.
  const withSignal = docker as unknown as {
    ping(opts: { abortSignal: AbortSignal }): Promise<unknown>;
    version(opts: { abortSignal: AbortSignal }): Promise<Docker.DockerVersion>;
  };
  try {
    const abortSignal = AbortSignal.timeout(timeoutMs);
    await withSignal.ping({ abortSignal });
    const v = await withSignal.version({ abortSignal });
    return { ok: true, version: v.Version.split('+')[0] ?? v.Version };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { ok: false, reason: e.code ?? e.message };
  }
}

/**
 * The runtime chosen by ATOLL_RUNTIME: `auto` takes Docker when its socket answers a ping, else
 * plain processes; `docker` insists on Docker and fails the start without it.
 */
export async function selectRuntime(config: AgentConfig, logger: Logger): Promise<Runtime> {
  const exec = new ExecRuntime({ logger, dir: path.join(config.stateDir, 'exec'), path: config.execPath });
  if (config.runtime === 'exec') {
    logger.info(`runtime: exec (ATOLL_RUNTIME=exec)`);
    return exec;
  }
  const probe = await probeDocker(config.dockerSocketPath);
  if (probe.ok) {
    const docker = new DockerRuntime({
      logger,
      socketPath: config.dockerSocketPath,
      engineVersion: probe.version,
      pullTimeoutMs: config.imagePullTimeoutMs,
    });
    logger.info(`runtime: docker (Docker Engine ${probe.version})`);
    return new RoutingRuntime(docker, exec);
  }
  if (config.runtime === 'docker') {
    throw new Error(
      `ATOLL_RUNTIME=docker but no Docker Engine answers at ${config.dockerSocketPath} (${probe.reason})`,
    );
  }
  logger.info(`runtime: exec (no Docker Engine at ${config.dockerSocketPath})`);
  return exec;
}

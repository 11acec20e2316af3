import { accessService, jobsService, type AuthUser, type Services } from '@atoll/api';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sendError } from './errors';

type Params = { jobId: string; runId: string; scheduleId: string };
type Req = FastifyRequest<{ Params: Params; Querystring: Record<string, string | string[] | undefined> }>;

/**
 * Metronome's REST API (`/v1/jobs…`), also under DC/OS's `/service/metronome/v1/…`, so a DC/OS
 * user's job scripts and `dcos job` keep working. Thin: every handler calls the service functions
 * tRPC uses; bodies, status codes and errors are Metronome's (422 `{message, details[{path,
 * errors}]}`, 404 and 409 `{message}`).
 */
export function registerMetronomeRoutes(app: FastifyInstance, services: Services): void {
  // The services acting for the request's user: the service layer keeps a scoped user in the scope.
  const actor = (req: { user: AuthUser | null }) => accessService.withActor(services, req.user);
  const handle =
    (fn: (req: Req, reply: FastifyReply) => Promise<unknown>) =>
    async (req: FastifyRequest, reply: FastifyReply) => {
      try {
        return await fn(req as Req, reply);
      } catch (err) {
        return sendError(reply, err);
      }
    };

  /** `?embed=activeRuns&embed=history` or `?embed=activeRuns,history`; unknown values are ignored. */
  const embedOf = (req: Req): jobsService.JobEmbed[] => {
    const raw = req.query.embed;
    const values = (Array.isArray(raw) ? raw : raw ? [raw] : []).flatMap((v) => v.split(','));
    return jobsService.jobEmbeds.filter((e) => values.includes(e));
  };

  for (const prefix of ['/v1', '/service/metronome/v1']) {
    app.get(
      `${prefix}/jobs`,
      handle(async (req) => jobsService.listJobs(actor(req), embedOf(req))),
    );
    app.post(
      `${prefix}/jobs`,
      handle(async (req, reply) => reply.code(201).send(await jobsService.createJob(actor(req), req.body))),
    );
    app.get(
      `${prefix}/jobs/:jobId`,
      handle(async (req) => jobsService.getJob(actor(req), req.params.jobId, embedOf(req))),
    );
    app.put(
      `${prefix}/jobs/:jobId`,
      handle(async (req) => jobsService.updateJob(actor(req), req.params.jobId, req.body)),
    );
    app.delete(
      `${prefix}/jobs/:jobId`,
      handle(async (req) =>
        jobsService.deleteJob(actor(req), req.params.jobId, {
          stopCurrentJobRuns: req.query.stopCurrentJobRuns === 'true',
        }),
      ),
    );

    app.get(
      `${prefix}/jobs/:jobId/runs`,
      handle(async (req) => jobsService.listRuns(actor(req), req.params.jobId)),
    );
    app.post(
      `${prefix}/jobs/:jobId/runs`,
      handle(async (req, reply) =>
        reply.code(201).send(await jobsService.startRun(actor(req), req.params.jobId)),
      ),
    );
    app.get(
      `${prefix}/jobs/:jobId/runs/:runId`,
      handle(async (req) => jobsService.getRun(actor(req), req.params.jobId, req.params.runId)),
    );
    app.post(
      `${prefix}/jobs/:jobId/runs/:runId/actions/stop`,
      handle(async (req) => {
        await jobsService.stopRun(actor(req), req.params.jobId, req.params.runId);
        return {};
      }),
    );

    app.get(
      `${prefix}/jobs/:jobId/schedules`,
      handle(async (req) => jobsService.listSchedules(actor(req), req.params.jobId)),
    );
    app.post(
      `${prefix}/jobs/:jobId/schedules`,
      handle(async (req, reply) =>
        reply.code(201).send(await jobsService.createSchedule(actor(req), req.params.jobId, req.body)),
      ),
    );
    app.get(
      `${prefix}/jobs/:jobId/schedules/:scheduleId`,
      handle(async (req) => jobsService.getSchedule(actor(req), req.params.jobId, req.params.scheduleId)),
    );
    app.put(
      `${prefix}/jobs/:jobId/schedules/:scheduleId`,
      handle(async (req) =>
        jobsService.updateSchedule(actor(req), req.params.jobId, req.params.scheduleId, req.body),
      ),
    );
    app.delete(
      `${prefix}/jobs/:jobId/schedules/:scheduleId`,
      handle(async (req) => {
        await jobsService.deleteSchedule(actor(req), req.params.jobId, req.params.scheduleId);
        return {};
      }),
    );
  }
}

import { authService, AppError, type Services } from '@atoll/api';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { sendError } from './errors';

const loginBody = z.object({
  uid: z.string().min(1, 'uid is required'),
  password: z.string().min(1, 'password is required'),
});

/**
 * DC/OS's login, so existing scripts keep working: POST /acs/api/v1/auth/login {uid, password}
 * → {token}. The token is a session token, accepted as `Authorization: token=<t>` or `Bearer <t>`.
 */
export function registerDcosAuthRoutes(app: FastifyInstance, services: Services): void {
  app.post('/acs/api/v1/auth/login', { config: { access: 'public' } }, async (req, reply) => {
    const body = loginBody.safeParse(req.body);
    if (!body.success) {
      return sendError(
        reply,
        AppError.invalid(body.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }))),
      );
    }
    try {
      const r = await authService.login(services, body.data.uid, body.data.password);
      return { token: r.token };
    } catch (err) {
      return sendError(reply, err);
    }
  });
}

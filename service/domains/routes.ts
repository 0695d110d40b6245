import express, { Router, type Request, type RequestHandler } from 'express';

import { tenantOf } from '../auth';
import { ApiError } from '../errors';
import { createDomainRequestSchema } from '../schemas';
import type { DomainsService } from './domains-service';
import { toDetail, toSummary } from './view';

const DOMAIN_ID = /^[1-9][0-9]{0,15}$/;

/** The `/api/v1/domains` routes: parse, call the domains feature, respond. */
export function domainsRouter(domains: DomainsService): Router {
  const router = Router();

  // Only registration takes a body, so only it pays for parsing one (bounded at 16 KiB), and only
  // it asks a client waiting with `Expect: 100-continue` to send one.
  router.post('/', askForBody, express.json({ limit: '16kb' }), async (req, res) => {
    if (!req.is('application/json')) {
      throw new ApiError('BAD_REQUEST', 'The request body must be JSON (application/json).');
    }
    const body = createDomainRequestSchema.parse(req.body);

    const domain = await domains.register(tenantOf(res.locals), body.domain_name);
    res.status(201).json(toDetail(domain));
  });

  router.get('/', (_req, res) => {
    res.json(domains.list(tenantOf(res.locals)).map(toSummary));
  });

  router.get('/:id', (req, res) => {
    res.json(toDetail(domains.get(tenantOf(res.locals), domainId(req))));
  });

  router.post('/:id/verify', async (req, res) => {
    const domain = await domains.verify(tenantOf(res.locals), domainId(req));
    res.json(toDetail(domain));
  });

  router.delete('/:id', async (req, res) => {
    await domains.remove(tenantOf(res.locals), domainId(req));
    res.json({ success: true });
  });

  return router;
}

/** Answers `100 Continue` to a client that waits for it before sending the body. */
const askForBody: RequestHandler = (req, res, next) => {
  if (req.get('expect')?.toLowerCase() === '100-continue') {
    res.writeContinue();
  }
  next();
};

/** The `:id` parameter as a domain id; anything else cannot name a domain, so it is a 404. */
export function domainId(req: Request): number {
  const text = String(req.params.id);
  const id = Number(text);
  if (!DOMAIN_ID.test(text) || !Number.isSafeInteger(id)) {
    throw new ApiError('NOT_FOUND', `Domain ${JSON.stringify(text)} was not found.`);
  }
  return id;
}

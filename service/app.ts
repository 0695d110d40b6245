import express, { type Express } from 'express';

import { authenticate, type Authenticator } from './auth';
import type { Clock } from './clock';
import type { Config } from './config';
import type { DomainsService } from './domains/domains-service';
import { domainsRouter } from './domains/routes';
import { errorHandler, notFound } from './error-handler';
import type { Logger } from './logger';
import { buildOpenApiDocument } from './openapi';
import { rateLimitByTenant } from './rate-limit';
import { requestLog } from './request-log';

export interface AppDeps {
  config: Config;
  domains: DomainsService;
  authenticator: Authenticator;
  clock: Clock;
  logger: Logger;
}

/** Assembles the HTTP app from its dependencies; listening is the caller's business. */
export function createApp(deps: AppDeps): Express {
  const { config, domains, authenticator, clock, logger } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);

  app.use(requestLog(logger));

  // public
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  const openApi = buildOpenApiDocument();
  app.get('/openapi.json', (_req, res) => {
    res.json(openApi);
  });

  // api: authentication before anything reads the body or decides a route exists
  const api = express.Router();
  api.use(authenticate(authenticator));
  if (config.rateLimitPerMinute > 0) {
    api.use(rateLimitByTenant(config.rateLimitPerMinute, clock));
  }
  api.use('/domains', domainsRouter(domains));
  api.use(notFound);
  app.use('/api/v1', api);

  app.use(notFound);
  app.use(errorHandler(logger));
  return app;
}

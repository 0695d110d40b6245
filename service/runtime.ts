import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { createApp } from './app';
import { createAuthenticator } from './auth';
import { systemClock, type Clock } from './clock';
import type { Config } from './config';
import { loadOrCreateDevSecret } from './dev-token';
import { DomainsService } from './domains/domains-service';
import { KeyedMutex } from './domains/keyed-mutex';
import { createLogger, type Logger } from './logger';
import { AwsSesIdentities, type OrphanRecorder } from './ses/aws';
import type { SesIdentities } from './ses/identities';
import { OrphanSweeper } from './ses/orphan-sweeper';
import { SimulatedSesIdentities } from './ses/simulated';
import { openJsonFileStore } from './store/json-file-store';
import type { DomainStore } from './store/store';
import { DnsChecker } from './verification/dns-checker';
import { Reconciler } from './verification/reconciler';
import { Verifier } from './verification/verifier';

export interface ServiceOverrides {
  clock?: Clock;
  logger?: Logger;
  ses?: SesIdentities;
}

export interface RunningService {
  /** `http://host:port`, with the port actually bound. */
  url: string;
  config: Config;
  store: DomainStore;
  ses: SesIdentities;
  domains: DomainsService;
  /** The HS256 secret in use, generated for development when none was configured. */
  jwtSecret: string | undefined;
  /** True when `jwtSecret` was generated into the data folder rather than configured. */
  devSecret: boolean;
  /** Stops accepting, lets in-flight requests finish, then flushes and releases the store. */
  close(): Promise<void>;
}

export function createSesIdentities(
  config: Config,
  logger: Logger,
  orphans: OrphanRecorder,
): SesIdentities {
  if (config.ses.mode === 'aws') {
    return new AwsSesIdentities(config.ses, logger, orphans);
  }
  return new SimulatedSesIdentities({
    region: config.ses.region,
    delayMs: config.ses.simulatedDelayMs,
  });
}

/** Opens the store, starts SES and listens: everything the server entry and the tests share. */
export async function startService(
  config: Config,
  overrides: ServiceOverrides = {},
): Promise<RunningService> {
  const clock = overrides.clock ?? systemClock;
  const logger = overrides.logger ?? createLogger(config.logLevel);
  // Before the store opens: an unusable NUMONIC_DNS_SERVERS stops start-up with nothing to undo.
  const dns = new DnsChecker(config.dns);

  const store = await openJsonFileStore(config.dataFile);
  // SES lists what it could not clean up with the orphan sweeper, which needs SES to delete it.
  const orphans: OrphanRecorder = { record: (name) => sweeper.record(name) };
  const ses = overrides.ses ?? createSesIdentities(config, logger, orphans);
  // A start-up that fails past this point releases the store's lock and the SES clients.
  const abandon = async (error: unknown): Promise<never> => {
    ses.close();
    await store.close();
    throw error;
  };

  let jwtSecret = config.jwt.secret;
  const devSecret = jwtSecret === undefined && config.jwt.jwksUrl === undefined;
  try {
    if (devSecret) {
      jwtSecret = await loadOrCreateDevSecret(config.dataFile);
    }
    await ses.start();
  } catch (error) {
    return abandon(error);
  }

  const names = new KeyedMutex();
  const sweeper = new OrphanSweeper({
    store,
    ses,
    logger,
    names,
    intervalMs: config.ses.orphanRetrySeconds * 1000,
  });
  const verifier = new Verifier({ store, ses, dns, clock, logger });
  const domains = new DomainsService({
    store,
    ses,
    clock,
    logger,
    configurationSet: config.ses.configurationSet,
    verifier,
    verifyPerMinute: config.verifyPerMinute,
    names,
    orphans: sweeper,
  });
  const authenticator = createAuthenticator({ jwt: { ...config.jwt, secret: jwtSecret }, clock });
  const app = createApp({ config, domains, authenticator, clock, logger });

  const server = http.createServer();
  const drain = drainOnClose(server);
  server.on('request', app);
  // A client that sends `Expect: 100-continue` uploads its body only when asked. Node would ask at
  // once; handled as a plain request instead, the body is asked for by the route that reads it,
  // after authentication, so an unauthenticated upload is refused before it is sent.
  server.on('checkContinue', (req, res) => server.emit('request', req, res));
  try {
    server.listen(config.port, config.host);
    await once(server, 'listening');
  } catch (error) {
    return abandon(error);
  }
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const reconciler = new Reconciler({ store, verifier, clock, logger, ...config.reconcile });
  reconciler.start();
  // Orphans are retried in the background: a slow SES must not hold up start-up.
  void sweeper.sweep();
  sweeper.start();

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      await drain();
      await Promise.all([reconciler.stop(), sweeper.stop()]);
      ses.close();
      await store.close();
    })();
    return closing;
  };

  return {
    url: `http://${host}:${port}`,
    config,
    store,
    ses,
    domains,
    jwtSecret,
    devSecret,
    close,
  };
}

/** How long requests in flight at shutdown may take before their connections are cut. */
const SHUTDOWN_GRACE_MS = 10_000;

/**
 * Prepares `server` for a graceful stop and returns the function that performs it: stop accepting
 * connections, close the idle ones, and let each request in flight finish. A keep-alive client
 * would otherwise go on sending requests over a connection that is still busy, and the server
 * would never close; so every answer from then on carries `Connection: close`, and each
 * connection is closed as soon as it falls idle. Whatever still runs after the grace period is cut.
 */
function drainOnClose(server: http.Server): () => Promise<void> {
  let draining = false;
  const unanswered = new Set<http.ServerResponse>();
  const closeWhenIdle = () => setImmediate(() => server.closeIdleConnections());

  // Registered before the app, so it runs before any handler can answer.
  server.on('request', (_req, res: http.ServerResponse) => {
    if (draining) {
      res.shouldKeepAlive = false;
      res.on('close', closeWhenIdle);
      return;
    }
    unanswered.add(res);
    res.on('close', () => unanswered.delete(res));
  });

  return async () => {
    draining = true;
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const res of unanswered) {
      if (!res.headersSent) res.shouldKeepAlive = false;
      res.on('close', closeWhenIdle);
    }
    server.closeIdleConnections();
    const cut = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
    cut.unref();

    await stopped;
    clearTimeout(cut);
  };
}

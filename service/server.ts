import { randomUUID } from 'node:crypto';

import { ConfigError, loadConfig } from './config';
import { mintToken } from './dev-token';
import { startService } from './runtime';

// The process entry: configuration, start, and a graceful stop on SIGTERM/SIGINT. Start-up
// failures and the listen URL are printed whatever LOG_LEVEL says.

/**
 * Resolves with the first SIGTERM or SIGINT. Listening starts before anything else so a signal
 * sent as soon as the listen URL appears is never met by Node's default (die at once); a second
 * signal, with the listeners gone, does stop the process at once.
 */
function firstStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve(signal);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}

async function main(): Promise<void> {
  const stopSignal = firstStopSignal();
  const config = loadConfig(process.env);
  const service = await startService(config);

  // The token is minted first so that the whole banner is printed at once.
  const banner = [`Numonic domains API listening on ${service.url} (SES mode: ${config.ses.mode})`];
  if (service.devSecret && service.jwtSecret !== undefined) {
    const tenantId = randomUUID();
    const { issuer, audience } = config.jwt;
    const token = await mintToken(service.jwtSecret, { tenantId, issuer, audience });
    banner.push(
      `Development token for a new tenant ${tenantId} (valid 30 days):`,
      `  export NUMONIC_TOKEN=${token}`,
    );
  }
  console.log(banner.join('\n'));

  const signal = await stopSignal;
  console.log(`${signal} received: finishing in-flight requests, then exiting.`);
  await service.close();
  process.exit(0);
}

main().catch((error: unknown) => {
  console.error(
    error instanceof ConfigError || error instanceof Error
      ? `Numonic domains API failed to start: ${error.message}`
      : error,
  );
  process.exit(1);
});

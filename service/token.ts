import { parseArgs } from 'node:util';

import { ConfigError, loadConfig } from './config';
import { loadOrCreateDevSecret, mintToken } from './dev-token';

// `npm run token -- --tenant <uuid> [--expires-in 30d]`: mints an HS256 token with the same secret
// the service uses (NUMONIC_JWT_SECRET, else the development secret in the data folder).

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      tenant: { type: 'string' },
      'expires-in': { type: 'string', default: '30d' },
    },
  });
  if (values.tenant !== undefined && !UUID.test(values.tenant)) {
    throw new Error('--tenant must be a UUID, e.g. 550e8400-e29b-41d4-a716-446655440000');
  }

  const config = loadConfig(process.env);
  if (config.jwt.secret === undefined && config.jwt.jwksUrl !== undefined) {
    throw new Error(
      'NUMONIC_JWKS_URL is set and NUMONIC_JWT_SECRET is not: the service only accepts tokens from your identity provider, so this tool cannot mint one.',
    );
  }
  const secret = config.jwt.secret ?? (await loadOrCreateDevSecret(config.dataFile));
  const token = await mintToken(secret, {
    tenantId: values.tenant,
    expiresIn: values['expires-in'],
    issuer: config.jwt.issuer,
    audience: config.jwt.audience,
  });
  console.log(token);
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError || error instanceof Error ? error.message : error);
  process.exit(1);
});

import { randomBytes, randomUUID } from 'node:crypto';

import type { NewDomainRecord } from '../../service/store/store';

/**
 * A pending domain as registration stores it, with SES-shaped tokens, for tests that fill a store
 * directly rather than through the API.
 *
 * @example
 * const domain = await store.insert(sampleDomain('shop-1.com', clock.now()));
 */
export function sampleDomain(
  name: string,
  createdAt: number,
  tenantId = randomUUID(),
): NewDomainRecord {
  const at = new Date(createdAt).toISOString();
  const dkimTokens = [1, 2, 3].map(() => randomBytes(16).toString('hex'));
  return {
    tenantId,
    name,
    identityArn: `arn:aws:ses:us-east-1:000000000000:identity/${name}`,
    verificationToken: randomBytes(32).toString('base64'),
    dkimTokens,
    signingHostedZone: 'dkim.amazonses.com',
    configurationSet: 'numonic-emails',
    verificationStatus: 'Pending',
    createdAt: at,
    updatedAt: at,
  };
}

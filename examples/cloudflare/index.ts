// A Numonic sending domain whose DNS records live in Cloudflare, then SES verification.
//
// The fixed-index rule: every record below is created at the top level of the program, with a
// fixed index into the domain's outputs (the `_amazonses` TXT record, then DKIM records 0, 1 and 2:
// the service always returns three), and never inside `apply()`. A resource created in a callback
// only exists once the domain's outputs are known, so `pulumi preview` cannot show it and the
// engine cannot plan it; here the preview lists all four records before the domain exists.

import * as cloudflare from '@pulumi/cloudflare';
import * as pulumi from '@pulumi/pulumi';
import { NumonicDomain, NumonicDomainVerification } from '@numonic/domains';

const DKIM_INDICES = [0, 1, 2] as const;

const config = new pulumi.Config();
const domainName = config.require('domainName');
const zoneId = zoneIdOf(config.get('zoneId'), config.get('zoneName'));
const ttl = ttlOf(config.getNumber('ttl'));

// `numonic:apiUrl` and `numonic:apiToken` come from the stack configuration, read by the provider
// itself, so the token never enters this resource's state.
const domain = new NumonicDomain('domain', {
  domainName,
  adopt: config.getBoolean('adopt'),
});

const verificationTxt = recordOrFail(domain.verificationRecord, 'the _amazonses TXT record');
const records = [
  new cloudflare.DnsRecord('verification-txt', {
    zoneId,
    name: verificationTxt.name,
    type: verificationTxt.type,
    content: verificationTxt.apply(recordContent),
    ttl,
    proxied: false,
  }),
  ...DKIM_INDICES.map((index) => {
    const dkim = recordOrFail(
      domain.dkimRecords.apply((dkimRecords) => dkimRecords[index]),
      `DKIM record ${index}`,
    );
    // SES must resolve the CNAME to its own host: a proxied record would answer with Cloudflare's.
    return new cloudflare.DnsRecord(`dkim-${index}`, {
      zoneId,
      name: dkim.name,
      type: dkim.type,
      content: dkim.apply(recordContent),
      ttl,
      proxied: false,
    });
  }),
];

const verification = new NumonicDomainVerification(
  'verification',
  {
    domainId: domain.domainId,
    timeoutSeconds: config.getNumber('verificationTimeoutSeconds', { min: 1 }),
  },
  { dependsOn: records },
);

export const domainId = domain.domainId;
export const dnsRecords = domain.dnsRecords;
export const recordIds = records.map((record) => record.id);
export const verificationStatus = verification.verificationStatus;
export const verifiedAt = verification.verifiedAt;

/**
 * What Cloudflare stores for a record. Its API wants TXT content as quoted character strings
 * (RFC 1035) and, unlike Route 53's provider, the Cloudflare provider does not add the quotes:
 * unquoted content works but is flagged in the dashboard. The SES token holds no quote or
 * backslash, so wrapping it is enough.
 */
function recordContent(record: { type: string; value: string }): string {
  const { type, value } = record;
  const quoted = value.length >= 2 && value.startsWith('"') && value.endsWith('"');

  return type === 'TXT' && !quoted ? `"${value}"` : value;
}

/** The zone given by id, or looked up by its name in the account the API token can see. */
function zoneIdOf(id: string | undefined, name: string | undefined): pulumi.Input<string> {
  if (id !== undefined && name !== undefined) {
    throw new Error('Set either zoneId or zoneName, not both.');
  }

  if (id !== undefined) {
    return id;
  }
  if (name !== undefined) {
    return cloudflare.getZoneOutput({ filter: { name } }).zoneId;
  }
  throw new Error(
    'Set the zone: `pulumi config set zoneId <id>` or `pulumi config set zoneName <name>`.',
  );
}

/** 1 is Cloudflare's "Auto" (300 seconds for records that are not proxied); else 60 to 86400. */
function ttlOf(ttl: number | undefined): number {
  if (ttl === undefined) {
    return 1;
  }
  if (ttl !== 1 && (ttl < 60 || ttl > 86_400)) {
    throw new Error(`ttl must be 1 (automatic) or from 60 to 86400 seconds, not ${ttl}.`);
  }
  return ttl;
}

/** The record, or a failure naming it when the service's answer lacks it. */
function recordOrFail<T>(record: pulumi.Output<T | undefined>, what: string): pulumi.Output<T> {
  return record.apply((value) => {
    if (value === undefined || value === null) {
      throw new Error(`The Numonic API returned no ${what} for ${domainName}.`);
    }
    return value;
  });
}

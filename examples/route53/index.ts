// A Numonic sending domain whose DNS records live in Route 53, then SES verification.
//
// The fixed-index rule: every record below is created at the top level of the program, with a
// fixed index into the domain's outputs (the `_amazonses` TXT record, then DKIM records 0, 1 and 2:
// the service always returns three), and never inside `apply()`. A resource created in a callback
// only exists once the domain's outputs are known, so `pulumi preview` cannot show it and the
// engine cannot plan it; here the preview lists all four records before the domain exists.

import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { NumonicDomain, NumonicDomainVerification } from '@numonic/domains';

const DKIM_INDICES = [0, 1, 2] as const;

const config = new pulumi.Config();
const domainName = config.require('domainName');
const ttl = config.getNumber('ttl', { min: 1 }) ?? 600;
// Off by default: a `_amazonses` TXT record can hold the tokens of several SES regions, and
// overwriting it would drop the others. Turn it on to take over records left by an earlier attempt.
const allowOverwrite = config.getBoolean('allowOverwrite') ?? false;
const hostedZone = hostedZoneId(config.get('zoneId'), config.get('zoneName'));

// `numonic:apiUrl` and `numonic:apiToken` come from the stack configuration, read by the provider
// itself, so the token never enters this resource's state.
const domain = new NumonicDomain('domain', {
  domainName,
  adopt: config.getBoolean('adopt'),
});

const verificationTxt = recordOrFail(domain.verificationRecord, 'the _amazonses TXT record');
const records = [
  new aws.route53.Record('verification-txt', {
    zoneId: hostedZone,
    name: verificationTxt.name,
    type: verificationTxt.type,
    // The provider adds the surrounding quotes Route 53 wants for TXT values: pass the raw token.
    records: [verificationTxt.value],
    ttl,
    allowOverwrite,
  }),
  ...DKIM_INDICES.map((index) => {
    const dkim = recordOrFail(
      domain.dkimRecords.apply((dkimRecords) => dkimRecords[index]),
      `DKIM record ${index}`,
    );
    return new aws.route53.Record(`dkim-${index}`, {
      zoneId: hostedZone,
      name: dkim.name,
      type: dkim.type,
      records: [dkim.value],
      ttl,
      allowOverwrite,
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

export const zoneId = hostedZone;
export const domainId = domain.domainId;
export const dnsRecords = domain.dnsRecords;
export const recordFqdns = records.map((record) => record.fqdn);
export const verificationStatus = verification.verificationStatus;
export const verifiedAt = verification.verifiedAt;

/** The hosted zone's id: `zoneId` as given, or the public zone named `zoneName`. */
function hostedZoneId(id: string | undefined, name: string | undefined): pulumi.Input<string> {
  if (id !== undefined && name !== undefined) {
    throw new Error('Set either zoneId or zoneName, not both.');
  }

  if (id !== undefined) {
    return id;
  }
  if (name !== undefined) {
    return aws.route53.getZoneOutput({ name, privateZone: false }).zoneId;
  }
  throw new Error(
    'Set the hosted zone: `pulumi config set zoneId <id>` or `pulumi config set zoneName <name>`.',
  );
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

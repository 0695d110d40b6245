// The quickstart: registers one sending domain with the Numonic API started by `npm start` and
// prints the DNS records to add at your DNS host. It creates no DNS records itself (see
// examples/route53 and examples/cloudflare for that) and so does not wait for verification.
//
// Run by `pulumi up` from the repository root (Pulumi.yaml points `main` at this file). It imports
// the package by its own name, which Node resolves through the root package.json's `exports` to
// the built provider in dist/: `npm ci` builds it.

import * as pulumi from '@pulumi/pulumi';
import { NumonicDomain } from '@numonic/domains';

const LOCAL_API_URL = 'http://127.0.0.1:3000';

const config = new pulumi.Config();
const numonic = new pulumi.Config('numonic');

// The token is not read here: the provider reads `numonic:apiToken` from the stack configuration
// at call time, so it never enters the resource's state.
const domain = new NumonicDomain('domain', {
  domainName: config.get('domainName') ?? 'yourapp.com',
  apiUrl: numonic.get('apiUrl') ?? LOCAL_API_URL,
});

export const domainId = domain.domainId;
export const domainName = domain.domainName;
export const dnsRecords = domain.dnsRecords;
export const verificationRecord = domain.verificationRecord;
export const dkimRecords = domain.dkimRecords;
export const verificationStatus = domain.verificationStatus;

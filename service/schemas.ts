import { z } from 'zod';

import { validateDomainName } from './domains/public-suffix';
import { ERROR_STATUS } from './errors';

// Every request and response shape of the API, in one place: requests are validated with these,
// types come from them, and `openapi.ts` publishes them. Seed fields keep their names and types;
// fields may only be added.

/** A domain name as the client typed it; the transform applies the contract's domain rules. */
export const domainNameSchema = z
  .string()
  .max(1024)
  .transform((input, ctx) => {
    const result = validateDomainName(input);
    if (!result.ok) {
      ctx.issues.push({ code: 'custom', message: result.message, input });
      return z.NEVER;
    }
    return result.name;
  })
  .meta({ description: 'The domain to register, e.g. yourapp.com.', example: 'yourapp.com' });

export const createDomainRequestSchema = z.strictObject({ domain_name: domainNameSchema });

export const verificationStatusSchema = z.enum(['Pending', 'Success', 'Failed']).meta({
  description:
    'Pending: DNS records not yet detected. Success: verified. ' +
    'Failed: still not verified 72 hours after registration.',
});

export const dnsRecordSchema = z.object({
  type: z.enum(['TXT', 'CNAME']),
  name: z.string().meta({ description: 'Absolute name, without the trailing dot.' }),
  value: z.string(),
  status: z
    .enum(['verified', 'pending', 'mismatch'])
    .optional()
    .meta({
      description:
        "The service's own DNS check of this record, absent until one has run. " +
        'verified: DNS answers the value. ' +
        'pending: DNS answers nothing yet (no such name, no such record, or no answer in time). ' +
        'mismatch: DNS answers only other values, listed in found.',
    }),
  found: z
    .array(z.string())
    .optional()
    .meta({ description: 'On a mismatch only: every value DNS answered for this record.' }),
});

export const domainSummarySchema = z.object({
  domain_id: z.number().int().positive(),
  tenant_id: z.uuid(),
  domain_name: z.string(),
  verification_status: verificationStatusSchema,
  identity_arn: z.string(),
  configuration_set_name: z.string(),
  created_at: z.iso.datetime(),
  verified_at: z.iso.datetime().nullable(),
  checked_at: z.iso.datetime().nullable(),
});

export const domainDetailSchema = domainSummarySchema.extend({
  dns_records: z.array(dnsRecordSchema),
});

export const domainListSchema = z.array(domainSummarySchema);

export const deleteResponseSchema = z.object({ success: z.literal(true) });

export const healthSchema = z.object({ status: z.literal('ok') });

export const errorBodySchema = z.object({
  error: z.object({
    code: z.enum(Object.keys(ERROR_STATUS) as [keyof typeof ERROR_STATUS]),
    message: z.string(),
    details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  }),
});

export type CreateDomainRequest = z.infer<typeof createDomainRequestSchema>;
export type DnsRecord = z.infer<typeof dnsRecordSchema>;
export type DomainSummary = z.infer<typeof domainSummarySchema>;
export type DomainDetail = z.infer<typeof domainDetailSchema>;
export type ErrorBody = z.infer<typeof errorBodySchema>;

import { z } from 'zod';

import * as schemas from './schemas';

// The OpenAPI 3.1 document is generated from the same zod schemas that validate requests, so the
// published contract cannot drift from what the service enforces. OpenAPI 3.1 schemas are JSON
// Schema 2020-12, which is what zod emits.

type Io = 'input' | 'output';

function jsonSchema(schema: z.ZodType, io: Io = 'output'): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
  }) as Record<string, unknown>;
  return rest;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: object) => ({ 'application/json': { schema } });
const error = (description: string) => ({ description, content: json(ref('Error')) });

const domainIdParameter = {
  name: 'id',
  in: 'path',
  required: true,
  schema: { type: 'integer', minimum: 1 },
};

const authErrors = {
  401: error('Missing, malformed, expired or wrongly signed token (UNAUTHORIZED).'),
  429: error('Request rate exceeded (RATE_LIMITED); see Retry-After.'),
  500: error('Unexpected failure (INTERNAL_ERROR).'),
};

/** Builds the OpenAPI 3.1 document served at `GET /openapi.json`. */
export function buildOpenApiDocument(): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Numonic domains API',
      version: '1.0.0',
      description:
        'Register email sending domains with AWS SES and get the DNS records that prove them.',
    },
    servers: [{ url: '/' }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: {
        CreateDomainRequest: jsonSchema(schemas.createDomainRequestSchema, 'input'),
        DnsRecord: jsonSchema(schemas.dnsRecordSchema),
        DomainSummary: jsonSchema(schemas.domainSummarySchema),
        DomainDetail: jsonSchema(schemas.domainDetailSchema),
        Error: jsonSchema(schemas.errorBodySchema),
      },
    },
    security: [{ bearer: [] }],
    paths: {
      '/api/v1/domains': {
        post: {
          summary: 'Register a domain',
          operationId: 'registerDomain',
          requestBody: { required: true, content: json(ref('CreateDomainRequest')) },
          responses: {
            201: {
              description: 'Registered; add the DNS records.',
              content: json(ref('DomainDetail')),
            },
            400: error('Malformed JSON or not application/json (BAD_REQUEST).'),
            409: error('The domain is already registered (CONFLICT).'),
            413: error('Body over 16 KiB (PAYLOAD_TOO_LARGE).'),
            422: error('Invalid domain or body (VALIDATION_ERROR).'),
            503: error('SES failed after retries; nothing was stored (UPSTREAM_UNAVAILABLE).'),
            ...authErrors,
          },
        },
        get: {
          summary: "List the caller's domains, ascending domain_id",
          operationId: 'listDomains',
          responses: {
            200: {
              description: 'The domains.',
              content: json(jsonSchema(schemas.domainListSchema)),
            },
            ...authErrors,
          },
        },
      },
      '/api/v1/domains/{id}': {
        parameters: [domainIdParameter],
        get: {
          summary: 'Get one domain with its DNS records',
          operationId: 'getDomain',
          responses: {
            200: { description: 'The domain.', content: json(ref('DomainDetail')) },
            404: error('Unknown domain or another tenant’s (NOT_FOUND).'),
            ...authErrors,
          },
        },
        delete: {
          summary: 'Delete a domain and its SES identity',
          operationId: 'deleteDomain',
          responses: {
            200: {
              description: 'Deleted.',
              content: json(jsonSchema(schemas.deleteResponseSchema)),
            },
            404: error('Unknown domain or another tenant’s (NOT_FOUND).'),
            503: error('SES failed; the domain is kept so the call can be retried.'),
            ...authErrors,
          },
        },
      },
      '/api/v1/domains/{id}/verify': {
        parameters: [domainIdParameter],
        post: {
          summary: 'Check the DNS records and SES now',
          description:
            'Looks up each DNS record and asks SES now, stores the outcome and returns the ' +
            'domain: each dns_records item carries its status, and found on a mismatch. ' +
            'Limited per domain by NUMONIC_VERIFY_PER_MINUTE. No request body.',
          operationId: 'verifyDomain',
          responses: {
            200: {
              description: 'The domain with fresh record statuses.',
              content: json(ref('DomainDetail')),
            },
            404: error('Unknown domain or another tenant’s (NOT_FOUND).'),
            503: error('SES could not be reached; nothing was stored (UPSTREAM_UNAVAILABLE).'),
            ...authErrors,
            429: error(
              'Verify-now called too often for this domain, or the tenant rate exceeded ' +
                '(RATE_LIMITED); see Retry-After.',
            ),
          },
        },
      },
      '/healthz': {
        get: {
          summary: 'Liveness: the store is open',
          operationId: 'health',
          security: [],
          responses: {
            200: { description: 'OK', content: json(jsonSchema(schemas.healthSchema)) },
          },
        },
      },
    },
  };
}

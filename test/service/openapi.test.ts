import assert from 'node:assert/strict';

import { request } from '../helpers/http';
import { startTestService, type TestService } from '../helpers/service';

describe('GET /openapi.json', () => {
  let service: TestService;
  let doc: any;

  before(async () => {
    service = await startTestService();
    doc = (await request(service.url, 'GET', '/openapi.json')).body;
  });
  after(() => service.close());

  it('is an OpenAPI 3.1 document served without a token', () => {
    assert.match(doc.openapi, /^3\.1\./);
  });

  it('documents every endpoint of the API', () => {
    for (const path of ['/api/v1/domains', '/api/v1/domains/{id}', '/healthz']) {
      assert.ok(doc.paths[path], `missing ${path}`);
    }
    assert.ok(doc.paths['/api/v1/domains'].post.responses['201']);
    assert.ok(doc.paths['/api/v1/domains/{id}'].delete.responses['200']);
  });

  it('describes the request body from the zod schema: one required string, nothing else', () => {
    const schema = doc.components.schemas.CreateDomainRequest;

    assert.deepEqual(schema.required, ['domain_name']);
    assert.equal(schema.properties.domain_name.type, 'string');
    assert.equal(schema.additionalProperties, false);
  });

  it("describes every seed field of a domain's details", () => {
    const { properties, required } = doc.components.schemas.DomainDetail;
    for (const field of [
      'domain_id',
      'tenant_id',
      'domain_name',
      'verification_status',
      'identity_arn',
      'configuration_set_name',
      'dns_records',
    ]) {
      assert.ok(properties[field], `missing ${field}`);
      assert.ok(required.includes(field), `${field} not required`);
    }
    assert.deepEqual(properties.verification_status.enum, ['Pending', 'Success', 'Failed']);
  });

  it('lists every error code of the contract', () => {
    const codes = doc.components.schemas.Error.properties.error.properties.code.enum;

    assert.deepEqual([...codes].sort(), [
      'BAD_REQUEST',
      'CONFLICT',
      'INTERNAL_ERROR',
      'NOT_FOUND',
      'PAYLOAD_TOO_LARGE',
      'RATE_LIMITED',
      'UNAUTHORIZED',
      'UPSTREAM_UNAVAILABLE',
      'VALIDATION_ERROR',
    ]);
  });
});

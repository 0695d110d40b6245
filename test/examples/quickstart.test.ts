import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';

import {
  FAKE_DOMAIN,
  ROOT,
  UNKNOWN,
  runProgram,
  type ProgramRun,
  type ProgramRunOptions,
} from '../helpers/pulumi-program';

// Each run loads the quickstart program in its own `node` under mocked Pulumi engine calls: see
// test/helpers/pulumi-program.ts for why a child process.

const DOMAIN = 'pulumi-nodejs:dynamic/numonic:NumonicDomain';
const PROJECT = 'numonic-quickstart';

function quickstart(config: Record<string, string>, options: Partial<ProgramRunOptions> = {}) {
  return runProgram({
    program: 'quickstart/index.js',
    project: PROJECT,
    config,
    domain: FAKE_DOMAIN,
    ...options,
  });
}

describe('the quickstart program', () => {
  describe('Pulumi.yaml', () => {
    const project = readFileSync(path.join(ROOT, 'Pulumi.yaml'), 'utf8');

    it('names the project numonic-quickstart', () => {
      assert.match(project, /^name: numonic-quickstart$/m);
    });

    // For a folder, the Node.js language host would start the root package.json's entry, the
    // library, and register nothing.
    it('points main at the program file itself, not at its folder', () => {
      const main = /^main: (.+)$/m.exec(project)?.[1]?.trim();

      assert.equal(main, 'quickstart/index.ts');
      assert.ok(statSync(path.join(ROOT, main)).isFile());
    });
  });

  describe('with no configuration', () => {
    let run: ProgramRun;

    before(async () => {
      run = await quickstart({});
    });

    it('runs without errors', () => {
      assert.deepEqual(run.errors, []);
    });

    it('registers yourapp.com against the local service on 127.0.0.1:3000', () => {
      assert.deepEqual(
        run.resources.map(({ type, inputs }) => ({
          type,
          domainName: inputs.domainName,
          apiUrl: inputs.apiUrl,
        })),
        [{ type: DOMAIN, domainName: 'yourapp.com', apiUrl: 'http://127.0.0.1:3000' }],
      );
    });

    it('exports the domain id, its records and its verification status', () => {
      assert.deepEqual(run.outputs, {
        domainId: FAKE_DOMAIN.domainId,
        domainName: FAKE_DOMAIN.domainName,
        dnsRecords: FAKE_DOMAIN.dnsRecords,
        verificationRecord: FAKE_DOMAIN.verificationRecord,
        dkimRecords: FAKE_DOMAIN.dkimRecords,
        verificationStatus: FAKE_DOMAIN.verificationStatus,
      });
    });
  });

  describe('with domainName, numonic:apiUrl and a secret numonic:apiToken set', () => {
    let run: ProgramRun;

    before(async () => {
      run = await quickstart(
        {
          [`${PROJECT}:domainName`]: 'mail.yourapp.com',
          'numonic:apiUrl': 'http://127.0.0.1:4000',
          'numonic:apiToken': 'eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl',
        },
        { secretKeys: ['numonic:apiToken'] },
      );
    });

    it('registers the configured domain against the configured URL', () => {
      const [domain] = run.resources;

      assert.equal(domain?.inputs.domainName, 'mail.yourapp.com');
      assert.equal(domain.inputs.apiUrl, 'http://127.0.0.1:4000');
    });

    it('leaves the token to the provider, so it never becomes an input of the resource', () => {
      const [domain] = run.resources;

      assert.ok(domain);
      assert.equal('apiToken' in domain.inputs, false);
      assert.doesNotMatch(JSON.stringify(domain.inputs), /eyJhbGciOiJIUzI1NiJ9/);
    });
  });

  // The compiled program above is what these tests load; `pulumi up` loads the TypeScript source
  // through ts-node instead, which resolves `@numonic/domains` with its own compiler options.
  describe('loaded from its TypeScript source, as `pulumi up` loads it', () => {
    it('compiles and registers the domain', async () => {
      const run = await quickstart({}, { program: 'quickstart/index.ts' });

      assert.deepEqual(run.errors, []);
      assert.equal(run.resources[0]?.inputs.domainName, 'yourapp.com');
    });
  });

  describe('in a preview, while the domain outputs are unknown', () => {
    it('registers the domain and exports unknown records', async () => {
      const run = await quickstart({}, { preview: true, domain: undefined });

      assert.equal(run.resources.length, 1);
      assert.equal(run.outputs.dnsRecords, UNKNOWN);
    });
  });
});

import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';

import {
  providerTextInChild,
  startProviderHost,
  type ProviderHost,
} from '../helpers/provider-host';
import { makeTempDir, removeTempDir, startTestService, type TestService } from '../helpers/service';

const ROOT = path.resolve(__dirname, '..', '..', '..');

/**
 * A program folder with this package installed under `node_modules/@numonic/domains` the way npm
 * lays out the published `files`, and every other dependency linked in (kept at its linked path
 * by `--preserve-symlinks`, so modules resolve as in a real install).
 */
function installIntoProgram(): string {
  const program = makeTempDir('numonic-program-');
  const modules = path.join(program, 'node_modules');
  const installed = path.join(modules, '@numonic', 'domains');
  mkdirSync(path.join(installed, 'dist', 'service', 'domains'), { recursive: true });

  cpSync(path.join(ROOT, 'package.json'), path.join(installed, 'package.json'));
  cpSync(path.join(ROOT, 'dist', 'provider'), path.join(installed, 'dist', 'provider'), {
    recursive: true,
  });
  const shared = path.join(ROOT, 'dist', 'service', 'domains');
  for (const file of readdirSync(shared).filter((name) => name.startsWith('domain-name.'))) {
    cpSync(path.join(shared, file), path.join(installed, 'dist', 'service', 'domains', file));
  }
  for (const entry of readdirSync(path.join(ROOT, 'node_modules'))) {
    if (entry !== '.bin' && !entry.startsWith('.')) {
      symlinkSync(path.join(ROOT, 'node_modules', entry), path.join(modules, entry));
    }
  }
  return program;
}

describe('the package installed in a program', function () {
  this.timeout(60_000);

  let program: string;
  let service: TestService;
  let hosts: ProviderHost[] = [];

  before(async () => {
    program = installIntoProgram();
    service = await startTestService();
  });
  after(async () => {
    await service.close();
    removeTempDir(program);
  });
  afterEach(async () => {
    await Promise.all(hosts.map((host) => host.close()));
    hosts = [];
  });

  for (const exportName of ['NumonicDomain', 'NumonicDomainVerification']) {
    describe(exportName, () => {
      it('serializes a provider that requires nothing but node built-ins', async () => {
        const text = await providerTextInChild({
          module: '@numonic/domains',
          exportName,
          args: exportName === 'NumonicDomain' ? { domainName: 'yourapp.com' } : { domainId: 1 },
          cwd: program,
          nodeOptions: ['--preserve-symlinks'],
        });

        const required = [...text.matchAll(/require\("([^"]+)"\)/g)].map((match) => match[1]);
        assert.deepEqual(
          required.filter((name) => !builtinModules.includes(name ?? '')),
          [],
        );
      });
    });
  }

  it("runs that text from the program's folder and from an empty one", async () => {
    const providerText = await providerTextInChild({
      module: '@numonic/domains',
      exportName: 'NumonicDomain',
      args: { domainName: 'yourapp.com' },
      cwd: program,
      nodeOptions: ['--preserve-symlinks'],
    });
    const empty = makeTempDir('numonic-empty-');
    const token = await service.token();

    try {
      for (const cwd of [program, empty]) {
        const host = await startProviderHost({ providerText, cwd });
        hosts.push(host);
        const domainName = `installed-${path.basename(cwd).toLowerCase()}.yourapp.com`;

        const checked = await host.check({}, { domainName, apiUrl: service.url, apiToken: token });
        const created = await host.create(checked.inputs);
        await host.delete(created.id, created.properties);

        assert.deepEqual(checked.failures, []);
        assert.equal(created.properties.domainName, domainName);
      }
    } finally {
      removeTempDir(empty);
    }
  });
});

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { ROOT } from '../helpers/pulumi-program';

// What makes each example a project a user copies and runs, checked from its files: the programs
// themselves run in route53.test.ts and cloudflare.test.ts.

const rootPackage = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const typecheck: string = rootPackage.scripts.typecheck;

for (const name of ['route53', 'cloudflare']) {
  const folder = path.join(ROOT, 'examples', name);
  const read = (file: string) => readFileSync(path.join(folder, file), 'utf8');

  describe(`examples/${name} as a project`, () => {
    it('is a TypeScript Pulumi project of its own', () => {
      const project = read('Pulumi.yaml');

      assert.match(project, new RegExp(`^name: numonic-${name}$`, 'm'));
      assert.match(project, /^ {2}name: nodejs$/m);
      assert.ok(existsSync(path.join(folder, 'index.ts')));
    });

    it('depends on this repository by a local path, with the SDK version the root pins', () => {
      const { dependencies } = JSON.parse(read('package.json'));

      assert.equal(dependencies['@numonic/domains'], 'file:../..');
      assert.equal(dependencies['@pulumi/pulumi'], rootPackage.devDependencies['@pulumi/pulumi']);
    });

    it('type-checks against the provider sources in the root typecheck that CI runs', () => {
      const { compilerOptions } = JSON.parse(read('tsconfig.json'));

      assert.deepEqual(compilerOptions.paths['@numonic/domains'], ['../../provider/index.ts']);
      assert.ok(typecheck.includes(`tsc -p examples/${name}/tsconfig.json --noEmit`));
      assert.ok(rootPackage.scripts.pretest.includes('npm run typecheck'));
    });

    it('has a README naming every configuration key the program reads', () => {
      const readme = read('README.md');
      const keys = [...read('index.ts').matchAll(/config\.(?:get|require)\w*\('(\w+)'/g)].map(
        (match) => match[1],
      );

      assert.ok(keys.length > 0);
      for (const key of [...keys, 'numonic:apiUrl', 'numonic:apiToken']) {
        assert.ok(readme.includes(`| \`${key}\` |`), `${key} is missing from the README's table`);
      }
      assert.match(readme, /pulumi config set --secret numonic:apiToken/);
      assert.match(readme, /pulumi up/);
    });
  });
}

#!/usr/bin/env node
// Runs every compiled mocha suite (dist/test/**/*.test.js) in one process and ends with the totals
// line `N passed, N failed`, so that a run of zero tests can never look green.
// Usage: node scripts/run-tests.js [path-prefix ...]   (prefixes filter the suites, e.g. test/service)
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { Mocha } = require('mocha');

const root = path.resolve(__dirname, '..', 'dist', 'test');

function findSuites(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return findSuites(full);
    return entry.name.endsWith('.test.js') ? [full] : [];
  });
}

const filters = process.argv.slice(2).map((filter) => filter.replace(/\.ts$/, ''));
const suites = findSuites(root)
  .sort()
  .filter((file) => {
    const relative = path.relative(path.resolve(__dirname, '..', 'dist'), file);
    return filters.length === 0 || filters.some((filter) => relative.startsWith(filter));
  });

const mocha = new Mocha({ timeout: 30_000, slow: 2_000, reporter: 'spec', forbidOnly: true });
for (const suite of suites) mocha.addFile(suite);

mocha.loadFilesAsync().then(
  () => {
    const runner = mocha.run((failures) => {
      const { passes = 0, failures: failed = 0 } = runner.stats ?? {};
      const ran = passes + failed;
      console.log(`\n${passes} passed, ${failed} failed`);
      process.exitCode = failures > 0 || ran === 0 ? 1 : 0;
      // Suites close what they open; this only guards CI against a stray handle keeping it alive.
      setTimeout(() => process.exit(process.exitCode), 2_000).unref();
    });
  },
  (error) => {
    console.error(error);
    console.log('\n0 passed, 1 failed');
    process.exit(1);
  },
);

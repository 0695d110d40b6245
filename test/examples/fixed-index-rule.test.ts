import assert from 'node:assert/strict';

import { FAKE_DOMAIN, resourcesOfType, runProgram } from '../helpers/pulumi-program';

// The example suites check the fixed-index rule by previewing a first deployment, when the
// domain's outputs are unknown, and counting the records registered. This suite shows that check
// can fail: a program that creates records inside `apply()` registers them in a deployment, but
// not in the preview, exactly as `pulumi preview` would hide them.

const RECORD = 'aws:route53/record:Record';
const PROGRAM = 'test/examples/fixtures/records-in-apply.js';

describe('the preview check of the fixed-index rule', () => {
  describe('for a program that creates its DKIM records inside apply()', () => {
    it('sees all four records once the domain outputs are known', async () => {
      const run = await runProgram({ program: PROGRAM, project: 'fixture', domain: FAKE_DOMAIN });

      assert.equal(resourcesOfType(run, RECORD).length, 4);
    });

    it('sees only the record created outside apply() in a preview', async () => {
      const run = await runProgram({ program: PROGRAM, project: 'fixture', preview: true });

      assert.deepEqual(
        resourcesOfType(run, RECORD).map((record) => record.name),
        ['verification-txt'],
      );
    });
  });
});

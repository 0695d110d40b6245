import assert from 'node:assert/strict';

import { makeTempDir, removeTempDir, startTestService } from '../helpers/service';

describe('startService', () => {
  describe('when the port is already taken', () => {
    it('rejects and releases the data file, so the next start can open it', async () => {
      const holder = await startTestService();
      const dataDir = makeTempDir();
      try {
        await assert.rejects(startTestService({ PORT: new URL(holder.url).port }, { dataDir }), {
          code: 'EADDRINUSE',
        });

        const next = await startTestService({}, { dataDir });
        await next.close();
      } finally {
        await holder.close();
        removeTempDir(dataDir);
      }
    });
  });
});

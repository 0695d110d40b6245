import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Resolves once `condition()` holds, asking every 10 ms; rejects once `timeoutMs` has passed
 * without it. For what a test cannot await directly: a background task, another process.
 */
export async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`condition not met within ${timeoutMs} ms`);
    }
    await sleep(10);
  }
}

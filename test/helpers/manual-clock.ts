import type { Clock } from '../../service/clock';

/**
 * A `Clock` that stands still until the test moves it, starting at the real time so tokens minted
 * now stay valid. Pass it as `overrides.clock` to `startTestService`, or to a component directly.
 *
 * @example
 * const clock = new ManualClock();
 * const service = await startTestService({}, { clock });
 * clock.advance(72 * 3_600_000); // three days later, instantly
 */
export class ManualClock implements Clock {
  constructor(private at = Date.now()) {}

  now(): number {
    return this.at;
  }

  advance(ms: number): void {
    this.at += ms;
  }
}

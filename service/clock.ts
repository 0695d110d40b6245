/** Where the service reads the time, so tests can move it (verification windows, rate limits). */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

// Repeated failures are logged once per kind per window, the next line counting what was left out:
// a full disk failing every request must not grow the log by a line per request.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { RateLimitedLog } from '../../cluster/log-limit.js';
import type { Logger } from '../../cluster/log.js';

describe('RateLimitedLog', () => {
  afterEach(() => vi.useRealTimers());

  it('logs the first of a kind, counts the rest of the window, and reports the count after it', () => {
    vi.useFakeTimers();
    vi.setSystemTime(1_000_000);
    const lines: Array<[Record<string, unknown>, string]> = [];
    const log = { warn: (o: Record<string, unknown>, m: string) => lines.push([o, m]) } as unknown as Logger;
    const limited = new RateLimitedLog(() => log, 10_000);
    for (let i = 0; i < 1000; i++) limited.warn('503 UNAVAILABLE', { i }, 'request failed');
    limited.warn('500 IO', { i: -1 }, 'request failed');
    expect(lines).toEqual([
      [{ i: 0 }, 'request failed'],
      [{ i: -1 }, 'request failed'],
    ]);
    vi.setSystemTime(1_000_000 + 10_001);
    limited.warn('503 UNAVAILABLE', { i: 1000 }, 'request failed');
    expect(lines[2]).toEqual([{ i: 1000, suppressed: 999 }, 'request failed']);
  });
});

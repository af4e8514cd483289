// Hedged replica reads (cluster/hedged-read.ts): a replica that has not answered within its hedge
// delay gets company (the next replica is asked too, the first answer wins) and is asked last for a
// while; a failure moves on at once; the delay follows each replica's latency within its bounds.

import { describe, expect, it } from 'vitest';
import { hedgedRead, ReplicaLatency } from '../../cluster/hedged-read.js';

const never = () => new Promise<string>(() => {});

describe('hedgedRead', () => {
  it('asks the next replica when the first is silent, and moves the silent one last', async () => {
    const lat = new ReplicaLatency(100);
    const asked: string[] = [];
    const v = await hedgedRead(['a', 'b', 'c'], (n) => (asked.push(n), n === 'a' ? never() : Promise.resolve(n)), lat);
    expect(v).toBe('b');
    expect(asked).toEqual(['a', 'b']);
    expect(lat.hedges).toBe(1);
    expect(lat.order(['a', 'b', 'c'])).toEqual(['b', 'c', 'a']);
  });

  it('moves on at once after a failure and rejects with the last error when all fail', async () => {
    const lat = new ReplicaLatency(10_000);
    const asked: string[] = [];
    await expect(
      hedgedRead(['a', 'b'], (n) => (asked.push(n), Promise.reject(new Error(`no ${n}`))), lat),
    ).rejects.toThrow('no b');
    expect(asked).toEqual(['a', 'b']);
    expect(lat.hedges).toBe(0);
  });

  it('never hedges to the candidates past `hedgeable`, and asks them once the others failed', async () => {
    const lat = new ReplicaLatency(20);
    const asked: string[] = [];
    const slow = (n: string) => new Promise<string>((r) => setTimeout(() => r(n), 200));
    expect(await hedgedRead(['a', 'down'], (n) => (asked.push(n), slow(n)), lat, undefined, 1)).toBe('a');
    expect(asked).toEqual(['a']);
    expect(lat.hedges).toBe(0);
    asked.length = 0;
    const v = await hedgedRead(
      ['a', 'down'],
      (n) => (asked.push(n), n === 'a' ? Promise.reject(new Error('no a')) : Promise.resolve(n)),
      lat,
      undefined,
      1,
    );
    expect(v).toBe('down');
    expect(asked).toEqual(['a', 'down']);
  });

  it('waits for a replica within its adaptive delay', () => {
    const lat = new ReplicaLatency(1000);
    expect(lat.hedgeDelay('x')).toBe(250); // never measured: a quarter of the bound
    for (let i = 0; i < 50; i++) lat.observe('x', 2);
    expect(lat.hedgeDelay('x')).toBe(20); // the floor
    for (let i = 0; i < 50; i++) lat.observe('y', 400 + (i % 2) * 200);
    const y = lat.hedgeDelay('y');
    expect(y).toBeGreaterThan(500);
    expect(y).toBeLessThanOrEqual(1000);
  });
});

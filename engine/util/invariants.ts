// Runtime invariant checks, Pebble's `invariants` build tag: on when the environment has
// EAU2_INVARIANTS=1 as the engine is loaded (vitest.config.ts sets it for every test), off
// otherwise. Each check sits behind `if (INVARIANTS)`, a branch on a constant that the JIT folds
// away, so production pays nothing for them.
//
// What they guard: module-level scratch state, which the engine's hottest code uses so that a get
// allocates nothing (engine/table/block.ts), and which only works while every use of it is
// synchronous: a future `await` between filling it and reading it would let another operation
// overwrite it, silently returning another key's value. And cheap structural promises (sorted input
// to a block builder, an iterator positioned before its key is read) whose breach would otherwise
// surface far away as corruption.

import { Eau2Error, ErrorCode } from '../../kv/index.js';

export const INVARIANTS: boolean = globalThis.process?.env?.EAU2_INVARIANTS === '1';

/** Throws for a broken invariant: a bug in the engine, never bad input. */
export function invariantViolated(what: string): never {
  throw new Eau2Error(ErrorCode.INVALID, `engine invariant violated: ${what}`, { details: { invariant: what } });
}

/**
 * Module-level scratch state with one user at a time: enter() when an operation starts filling or
 * reading it, leave() when it is done with it. Entering while another operation holds it means a
 * use was interrupted (an await) or nested: the second one throws.
 */
export class ScratchGuard {
  private holder: string | undefined;

  constructor(readonly name: string) {}

  enter(by: string): void {
    if (this.holder !== undefined) invariantViolated(`${this.name} entered by ${by} while ${this.holder} uses it`);
    this.holder = by;
  }

  leave(): void {
    this.holder = undefined;
  }

  /** Who holds it, if anyone (tests). */
  heldBy(): string | undefined {
    return this.holder;
  }
}

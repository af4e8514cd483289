// The one place the cluster opens the real engine, so tests and embedders can pass another opener.

import { Engine } from '../../engine/index.js';
import type { EngineLike, EngineOpener } from './engine-api.js';

/**
 * Stored values are envelopes (cluster/protocol/stored-value.ts) whose header follows the engine's
 * expiry convention, so the engine hides and drops expired ones; the node's own metadata under the
 * prefix FF FF (stored-format.ts) is not in envelopes and never expires.
 */
const VALUE_EXPIRY = { keysBelow: Uint8Array.of(0xff, 0xff) };

// The cast only widens the snapshot type: the node hands the engine back nothing but snapshots that
// this same engine created, which is what Engine's nominal Snapshot class checks at run time.
export const openEngine: EngineOpener = async (dir, opts = {}) =>
  (await Engine.open(dir, { valueExpiry: VALUE_EXPIRY, ...opts })) as unknown as EngineLike;

// The one place the cluster opens the real engine, so tests and embedders can pass another opener.

import { Engine } from '../../engine/index.js';
import type { EngineLike, EngineOpener } from './engine-api.js';

// The cast only widens the snapshot type: the node hands the engine back nothing but snapshots that
// this same engine created, which is what Engine's nominal Snapshot class checks at run time.
export const openEngine: EngineOpener = async (dir, opts = {}) =>
  (await Engine.open(dir, opts)) as unknown as EngineLike;

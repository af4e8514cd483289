// How the dataframe commands reach a store: a cluster client in the eau2 command, an embedded or
// in-memory store in tests. Its own file so `df` and `sql`/`df query` share it without importing each other.

import type { KvStore } from '../../kv/index.js';

export type OpenStore = (opts: { url?: string }) => Promise<KvStore & { close?(): Promise<void> }>;

// The cluster's two KvStores keep the KvStore contract: ClusterClient against a real 3-node cluster
// of node processes (test/cluster/support/cluster-harness.ts), and the store a node gives the tasks
// it runs (NodeServer.taskContext().store: reads from the node's own copies, writes through the
// leaders) on 3 in-process nodes holding every partition (replication factor 3), so its local scans
// cover all keys.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterClient, NodeServer, parseConfig } from '../../cluster/index.js';
import { createLogger } from '../../cluster/log.js';
import { openEngine } from '../../cluster/node/open-engine.js';
import { freePorts, TestCluster } from '../cluster/support/cluster-harness.js';
import { kvStoreConformance } from './conformance.js';

kvStoreConformance('ClusterClient', async () => {
  const cluster = await TestCluster.start({ nodes: 3, partitions: 8, replicationFactor: 2 });
  try {
    const client = await ClusterClient.connect(cluster.nodes.map((n) => n.url));
    return {
      store: client,
      close: async () => {
        await client.close();
        await cluster.stop();
      },
    };
  } catch (e) {
    await cluster.stop();
    throw e;
  }
});

kvStoreConformance('node task store', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'eau2-conf-node-'));
  const p = await freePorts(6);
  const config = parseConfig({
    partitions: 6,
    replicationFactor: 3,
    nodes: [0, 1, 2].map((i) => ({
      id: `n${i + 1}`,
      port: p[2 * i],
      peerPort: p[2 * i + 1],
      dataDir: join(dir, `n${i + 1}`),
    })),
  });
  const nodes: NodeServer[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => n.close()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const id of ['n1', 'n2', 'n3'])
      nodes.push(await NodeServer.start({ config, nodeId: id, openEngine, logger: createLogger({ level: 'silent' }) }));
    return { store: nodes[1]!.taskContext().store, close: stop };
  } catch (e) {
    await stop();
    throw e;
  }
});

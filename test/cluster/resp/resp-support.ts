// In-process nodes with their RESP servers, for the RESP tests: real engines, real sockets on
// 127.0.0.1, a node can be restarted on its data; close() stops everything (call it in afterAll).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeServer, parseConfig, type ClusterConfig } from '../../../cluster/index.js';
import { createLogger } from '../../../cluster/log.js';
import { openEngine } from '../../../cluster/node/open-engine.js';
import type { RespLimits } from '../../../cluster/resp/resp-context.js';
import { startResp, type RespServer } from '../../../cluster/resp/start-resp.js';
import { freePorts } from '../support/cluster-harness.js';

export class RespCluster {
  readonly nodes = new Map<string, NodeServer>();
  readonly resp = new Map<string, RespServer>();

  private constructor(
    readonly dir: string,
    readonly config: ClusterConfig,
    private readonly limits?: Partial<RespLimits>,
  ) {}

  static async start(
    opts: {
      nodes?: number;
      partitions?: number;
      replicationFactor?: number;
      limits?: Partial<RespLimits>;
      security?: (dir: string) => object;
    } = {},
  ): Promise<RespCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'eau2-resp-'));
    const n = opts.nodes ?? 3;
    const p = await freePorts(3 * n);
    const raw: Record<string, unknown> = {
      partitions: opts.partitions ?? 4,
      replicationFactor: opts.replicationFactor ?? 2,
      nodes: Array.from({ length: n }, (_, i) => ({
        id: `n${i + 1}`,
        port: p[3 * i],
        peerPort: p[3 * i + 1],
        respPort: p[3 * i + 2],
        dataDir: join(dir, `n${i + 1}`),
      })),
      ...(opts.security ? opts.security(dir) : {}),
    };
    const c = new RespCluster(dir, parseConfig(raw, dir), opts.limits);
    try {
      await Promise.all(c.config.nodes.map((x) => c.startNode(x.id)));
    } catch (e) {
      await c.close();
      throw e;
    }
    return c;
  }

  async startNode(id: string): Promise<void> {
    const node = await NodeServer.start({
      config: this.config,
      nodeId: id,
      openEngine,
      logger: createLogger({ level: 'silent' }),
    });
    this.nodes.set(id, node);
    const r = await startResp(node, this.limits);
    if (r) this.resp.set(id, r);
  }

  async stopNode(id: string): Promise<void> {
    await this.resp.get(id)?.close();
    this.resp.delete(id);
    await this.nodes.get(id)?.close();
    this.nodes.delete(id);
  }

  respPort(id: string): number {
    return this.config.nodes.find((n) => n.id === id)!.respPort!;
  }

  async close(): Promise<void> {
    for (const id of [...this.nodes.keys()]) await this.stopNode(id).catch(() => {});
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A config `auth` section with the given tokens (name -> sha256, role) and a fresh peer secret. */
export function authSection(dir: string, tokens: { name: string; sha256: string; role: string }[]): object {
  const secret = join(dir, 'peer.secret');
  writeFileSync(secret, 'a'.repeat(64), { mode: 0o600 });
  return { auth: { tokens, peerSecretFile: secret } };
}

// The cluster config file (docs/operations.md): which nodes exist, where they listen, where they keep
// their data, how many partitions the key space has and how many replicas each partition keeps.
// Loading validates every field so that a typo stops a node at start-up, not at its first request.

import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { Eau2Error, ErrorCode } from '../kv/index.js';
import { parseSecurityConfig, SECURITY_FIELDS, type SecurityConfig } from './security/security-config.js';

export interface NodeConfig {
  id: string;
  host: string;
  /** HTTP port. */
  port: number;
  /** Binary peer-protocol port (docs/format.md section 8). */
  peerPort: number;
  /** Absolute once loaded (relative paths are resolved against the config file's folder). */
  dataDir: string;
  /**
   * The peer address other nodes (and clients) dial to reach this node: a NAT or container mapping,
   * or a test's proxy. The node itself still listens on host:peerPort. Default (and when absent
   * from a config built in code): host and peerPort.
   */
  advertisePeerHost?: string;
  advertisePeerPort?: number;
  /** Redis protocol (RESP) port (cluster/resp, docs/api.md); absent: the node serves no RESP. */
  respPort?: number;
}

export interface ClusterConfig {
  /** Fixed for the life of the cluster: a key's partition depends on it. At most 65,535. */
  partitions: number;
  replicationFactor: number;
  /** Every node is alike (no coordinator): each heartbeats the others and votes in failovers. */
  nodes: NodeConfig[];
  /** Largest HTTP request body accepted (413 beyond). Default 16 MiB. */
  maxBodyBytes: number;
  /** Largest peer frame accepted; a longer length prefix closes the connection. Default 64 MiB. */
  maxFrameBytes: number;
  /** Per-partition replication backlog kept by a leader for catch-up: entries and bytes. */
  backlogEntries: number;
  backlogBytes: number;
  /** How long a w>1 write waits for follower acknowledgements before failing with TIMEOUT. */
  writeTimeoutMs: number;
  /** Memtable size of each node's engine (the engine's own default is 4 MiB, LevelDB's; a node uses 64 MiB). */
  memtableBytes: number;
  /** auth, tls, insecure and limits (cluster/security/security-config.ts, docs/security.md). */
  security: SecurityConfig;
  /** A leader not heard from for this long is failed over (docs/failover.md). */
  failoverTimeoutMs: number;
  /** A follower down or this far behind (oldest unacknowledged write) leaves the in-sync set. */
  replicaLagMaxMs: number;
  /** Fewest in-sync replicas (leader included) with which w=all writes are accepted (503 below). */
  minInSync: number;
  /** Free space under the node's data directory below which /healthz and the log warn. Default 1 GiB. */
  diskFreeWarnBytes: number;
  /** Pace of each node's background scrub of its tables, bytes/s (0: none). Default 4 MiB/s. */
  scrubBytesPerSecond: number;
  /** Pause between two background scrub passes, ms. Default 60000. */
  scrubIntervalMs: number;
  /** Every peer connection sends a heartbeat when it sent nothing else for this long. Default 500. */
  peerHeartbeatMs: number;
  /** A peer connection silent this long is closed and reopened (0: never). Default 3000. */
  peerSilenceTimeoutMs: number;
  /** Most a read sent to one replica waits before trying another (hedges start earlier). Default 1000. */
  replicaReadTimeoutMs: number;
  /** How long a leader remembers a write's request id, to answer its retries (0: not at all). Default 60000. */
  requestIdTtlMs: number;
  /** Most request ids a node remembers (oldest forgotten first). Default 100000. */
  requestIdMaxEntries: number;
}

const MAX_PARTITIONS = 0xffff; // partition ids are u16 and 0xFFFF is the node's metadata prefix

const CONFIG_DEFAULTS = {
  maxBodyBytes: 16 * 1024 * 1024,
  maxFrameBytes: 64 * 1024 * 1024,
  backlogEntries: 10_000,
  backlogBytes: 8 * 1024 * 1024,
  writeTimeoutMs: 5_000,
  // RocksDB's default write buffer. A node takes every write of its partitions and their replicas,
  // and with LevelDB's 4 MiB it flushed and compacted often enough to cost ~1/3 of its CPU per
  // replicated 1 KB write (YCSB A: 130-138 -> 84-88 us/op of server CPU, bench/cluster/README.md).
  // Memory: up to three memtables (one active, two waiting for their flush) per node.
  memtableBytes: 64 * 1024 * 1024,
  failoverTimeoutMs: 5_000,
  // Below writeTimeoutMs, so a w=all write that waits on a dead follower can still complete once
  // the follower is out of the ISR.
  replicaLagMaxMs: 3_000,
  minInSync: 1,
  diskFreeWarnBytes: 1024 * 1024 * 1024,
  scrubBytesPerSecond: 4 * 1024 * 1024,
  scrubIntervalMs: 60_000,
  // Under the failover timeout: a half-open link is replaced before its silence fails a leader over.
  peerHeartbeatMs: 500,
  peerSilenceTimeoutMs: 3000,
  replicaReadTimeoutMs: 1000,
  requestIdTtlMs: 60_000,
  requestIdMaxEntries: 100_000,
} as const;

function invalid(msg: string): Eau2Error {
  return new Eau2Error(ErrorCode.INVALID, `cluster config: ${msg}`);
}

function int(v: unknown, name: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw invalid(`${name} must be an integer in [${min}, ${max}], got ${JSON.stringify(v)}`);
  }
  return v;
}

function str(v: unknown, name: string): string {
  if (typeof v !== 'string' || v.length === 0) throw invalid(`${name} must be a non-empty string`);
  return v;
}

const KNOWN_TOP = new Set([
  'partitions',
  'replicationFactor',
  'nodes',
  'maxBodyBytes',
  'maxFrameBytes',
  'backlogEntries',
  'backlogBytes',
  'writeTimeoutMs',
  'memtableBytes',
  ...SECURITY_FIELDS,
  'failoverTimeoutMs',
  'replicaLagMaxMs',
  'minInSync',
  'diskFreeWarnBytes',
  'scrubBytesPerSecond',
  'scrubIntervalMs',
  'peerHeartbeatMs',
  'peerSilenceTimeoutMs',
  'replicaReadTimeoutMs',
  'requestIdTtlMs',
  'requestIdMaxEntries',
]);
const KNOWN_NODE = new Set([
  'id',
  'host',
  'port',
  'peerPort',
  'dataDir',
  'advertisePeerHost',
  'advertisePeerPort',
  'respPort',
]);

/** Validates a parsed config object; relative data dirs are resolved against `baseDir`. */
export function parseConfig(raw: unknown, baseDir = process.cwd()): ClusterConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid('must be a JSON object');
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KNOWN_TOP.has(k)) throw invalid(`unknown field "${k}"`);
  const partitions = int(o.partitions, 'partitions', 1, MAX_PARTITIONS);
  if (!Array.isArray(o.nodes) || o.nodes.length === 0) throw invalid('nodes must be a non-empty array');
  const ids = new Set<string>();
  const addrs = new Set<string>();
  const advertised = new Set<string>();
  const nodes = o.nodes.map((n: unknown, i: number): NodeConfig => {
    if (typeof n !== 'object' || n === null || Array.isArray(n)) throw invalid(`nodes[${i}] must be an object`);
    const r = n as Record<string, unknown>;
    for (const k of Object.keys(r)) if (!KNOWN_NODE.has(k)) throw invalid(`nodes[${i}]: unknown field "${k}"`);
    const id = str(r.id, `nodes[${i}].id`);
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(id)) throw invalid(`nodes[${i}].id must match [A-Za-z0-9_.-]{1,64}`);
    if (ids.has(id)) throw invalid(`duplicate node id "${id}"`);
    ids.add(id);
    const host = r.host === undefined ? '127.0.0.1' : str(r.host, `nodes[${i}].host`);
    const port = int(r.port, `nodes[${i}].port`, 1, 65535);
    const peerPort = int(r.peerPort, `nodes[${i}].peerPort`, 1, 65535);
    const respPort = r.respPort === undefined ? undefined : int(r.respPort, `nodes[${i}].respPort`, 1, 65535);
    for (const p of respPort === undefined ? [port, peerPort] : [port, peerPort, respPort]) {
      const a = `${host}:${p}`;
      if (addrs.has(a)) throw invalid(`address ${a} is used twice`);
      addrs.add(a);
    }
    const dataDir = r.dataDir === undefined ? `data/${id}` : str(r.dataDir, `nodes[${i}].dataDir`);
    const advertisePeerHost =
      r.advertisePeerHost === undefined ? host : str(r.advertisePeerHost, `nodes[${i}].advertisePeerHost`);
    const advertisePeerPort =
      r.advertisePeerPort === undefined
        ? peerPort
        : int(r.advertisePeerPort, `nodes[${i}].advertisePeerPort`, 1, 65535);
    // Two nodes advertising one address would each receive the other's peer traffic.
    const adv = `${advertisePeerHost}:${advertisePeerPort}`;
    if (advertised.has(adv)) throw invalid(`advertised peer address ${adv} is used twice`);
    advertised.add(adv);
    return {
      id,
      host,
      port,
      peerPort,
      dataDir: isAbsolute(dataDir) ? dataDir : resolve(baseDir, dataDir),
      advertisePeerHost,
      advertisePeerPort,
      ...(respPort === undefined ? {} : { respPort }),
    };
  });
  const replicationFactor = int(o.replicationFactor ?? 1, 'replicationFactor', 1, nodes.length);
  const opt = (k: keyof typeof CONFIG_DEFAULTS, min: number, max: number): number =>
    o[k] === undefined ? CONFIG_DEFAULTS[k] : int(o[k], k, min, max);
  return {
    partitions,
    replicationFactor,
    nodes,
    maxBodyBytes: opt('maxBodyBytes', 1, 2 ** 31 - 1),
    maxFrameBytes: opt('maxFrameBytes', 1024, 2 ** 31 - 1),
    backlogEntries: opt('backlogEntries', 1, 10_000_000),
    backlogBytes: opt('backlogBytes', 1, 2 ** 40),
    writeTimeoutMs: opt('writeTimeoutMs', 1, 3_600_000),
    memtableBytes: opt('memtableBytes', 64 * 1024, 2 ** 31 - 1),
    security: parseSecurityConfig(o, baseDir),
    failoverTimeoutMs: opt('failoverTimeoutMs', 100, 3_600_000),
    replicaLagMaxMs: opt('replicaLagMaxMs', 10, 3_600_000),
    minInSync: opt('minInSync', 1, replicationFactor),
    diskFreeWarnBytes: opt('diskFreeWarnBytes', 0, 2 ** 50),
    scrubBytesPerSecond: opt('scrubBytesPerSecond', 0, 2 ** 40),
    scrubIntervalMs: opt('scrubIntervalMs', 100, 86_400_000),
    ...peerTimeouts(opt('peerHeartbeatMs', 10, 60_000), opt('peerSilenceTimeoutMs', 0, 3_600_000)),
    replicaReadTimeoutMs: opt('replicaReadTimeoutMs', 10, 600_000),
    requestIdTtlMs: opt('requestIdTtlMs', 0, 3_600_000),
    requestIdMaxEntries: opt('requestIdMaxEntries', 1, 10_000_000),
  };
}

/** A silence timeout must span a few heartbeats, or a healthy idle link would be closed. */
function peerTimeouts(peerHeartbeatMs: number, peerSilenceTimeoutMs: number) {
  if (peerSilenceTimeoutMs !== 0 && peerSilenceTimeoutMs < 3 * peerHeartbeatMs)
    throw invalid(`peerSilenceTimeoutMs (${peerSilenceTimeoutMs}) must be 0 or at least 3 x peerHeartbeatMs`);
  return { peerHeartbeatMs, peerSilenceTimeoutMs };
}

/** Reads and validates a config file. */
export function loadConfig(file: string): ClusterConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Eau2Error(ErrorCode.IO, `cannot read config ${file}: ${(e as Error).message}`, { cause: e });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw invalid(`${file} is not valid JSON: ${(e as Error).message}`);
  }
  return parseConfig(raw, dirname(resolve(file)));
}

export function findNode(config: ClusterConfig, id: string): NodeConfig {
  const n = config.nodes.find((x) => x.id === id);
  if (!n) throw invalid(`no node "${id}" (known: ${config.nodes.map((x) => x.id).join(', ')})`);
  return n;
}

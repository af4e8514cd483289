// A user-space TCP proxy between the nodes of a test cluster, for network faults without netem or
// iptables (this kernel has neither). One listener per target node, whose port the node advertises
// (config advertisePeerPort), so every peer connection to a node passes through it. The proxy tells
// which node a connection comes from by asking the kernel who owns its other end (/proc/net/tcp gives
// the socket's inode, /proc/<pid>/fd which process holds it), so one advertised address per node
// still allows per-link faults (cut A->B but not C->B) and no byte of the peer protocol is parsed:
// a handshake or TLS in front of it changes nothing. A connection from a process that is not a node
// (a test's ClusterClient) is never faulted; HTTP traffic does not pass through here at all.
//
// Faults are per ordered link (from -> to) and apply to bytes, whichever side opened the connection:
// - cut: bytes from `from` to `to` stop moving, and the connection stays open. The sender's writes
//   queue (here, then in its kernel buffers), as with packets dropped and retransmitted, and are
//   delivered in order when the link heals unless an end gave up and closed first. Cutting one
//   direction gives a half-open, silent link; cutting both a full partition.
// - delay: every chunk is held for `ms` before it is passed on (order kept).
// - halfOpen: the connections open now between two nodes lose one end: the socket to one node is
//   reset, the socket to the other stays open and silent (what it sends is swallowed, nothing
//   reaches it), as after a NAT or firewall dropped its state, or a host rebooted behind a proxy.
//   Connections made afterwards pass normally.
// A new connection is accepted even while its link is cut (a real SYN would be retransmitted until
// the heal or the connect timeout); its bytes then wait like any other.

import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import net from 'node:net';

/** Most bytes a direction of one connection holds before it stops reading its source. */
const HIGH_WATER_BYTES = 1024 * 1024;

export interface ProxyTarget {
  id: string;
  host: string;
  port: number;
}

/** Which node a proxied connection comes from; undefined for one that is not a node's. */
export type Identify = (socket: net.Socket) => string | undefined;

type Item = { due: number; data: Buffer } | { due: number; end: true };

/** One direction of one proxied connection: src's bytes, queued, then written to dst. */
class Pipe {
  private readonly queue: Item[] = [];
  private bytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private waitingDrain = false;
  done = false;

  constructor(
    private readonly src: net.Socket,
    private readonly dst: net.Socket,
    private readonly link: () => { cut: boolean; delayMs: number },
    private readonly onDone: () => void,
  ) {
    src.on('data', (d: Buffer) => {
      this.queue.push({ due: Date.now() + this.link().delayMs, data: d });
      this.bytes += d.length;
      if (this.bytes >= HIGH_WATER_BYTES) src.pause();
      this.pump();
    });
    src.on('end', () => {
      this.queue.push({ due: Date.now() + this.link().delayMs, end: true });
      this.pump();
    });
    dst.on('drain', () => {
      this.waitingDrain = false;
      this.pump();
    });
  }

  /** Passes on what is due, unless the link is cut; called again on heal and on each timer. */
  pump(): void {
    if (this.done || this.waitingDrain) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const { cut } = this.link();
    if (cut) return;
    const now = Date.now();
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      if (head.due > now) {
        this.timer = setTimeout(() => this.pump(), head.due - now);
        return;
      }
      this.queue.shift();
      if ('end' in head) {
        this.done = true;
        this.dst.end();
        this.onDone();
        return;
      }
      this.bytes -= head.data.length;
      if (this.bytes < HIGH_WATER_BYTES && this.src.isPaused()) this.src.resume();
      if (!this.dst.write(head.data)) {
        this.waitingDrain = true;
        return;
      }
    }
  }

  stop(): void {
    this.done = true;
    if (this.timer) clearTimeout(this.timer);
  }
}

interface Conn {
  from: string | undefined;
  to: string;
  client: net.Socket;
  upstream: net.Socket;
  pipes: Pipe[];
}

export class LinkProxy {
  private readonly servers = new Map<string, net.Server>();
  private readonly ports = new Map<string, number>();
  private readonly conns = new Set<Conn>();
  private readonly cuts = new Set<string>();
  private readonly delays = new Map<string, number>();
  /** Sockets left open and silent by halfOpen(), destroyed by close(). */
  private readonly zombies = new Set<net.Socket>();

  private constructor(private readonly identify: Identify) {}

  /** Listens on a free loopback port for each target; connections are forwarded to the target. */
  static async start(targets: ProxyTarget[], identify: Identify): Promise<LinkProxy> {
    const proxy = new LinkProxy(identify);
    try {
      for (const t of targets) await proxy.listen(t);
    } catch (e) {
      await proxy.close();
      throw e;
    }
    return proxy;
  }

  /** The port to advertise for target `id`. */
  port(id: string): number {
    const p = this.ports.get(id);
    if (p === undefined) throw new TypeError(`no proxy for node ${id}`);
    return p;
  }

  /** Stops bytes from `from` to `to` (one direction). */
  cut(from: string, to: string): void {
    this.cuts.add(`${from}>${to}`);
  }

  /** Cuts every link between a node of `a` and a node of `b`, both directions. */
  partition(a: string[], b: string[]): void {
    for (const x of a)
      for (const y of b) {
        this.cut(x, y);
        this.cut(y, x);
      }
  }

  /** Holds every chunk from `from` to `to` for `ms` (0 removes the delay). */
  delay(from: string, to: string, ms: number): void {
    if (ms > 0) this.delays.set(`${from}>${to}`, ms);
    else this.delays.delete(`${from}>${to}`);
  }

  /**
   * Makes every connection open now between `silent` and `reset` half-open: the socket to `reset`
   * is reset (that node sees the connection close), the one to `silent` stays open and nothing
   * more moves on it either way. Returns how many connections it broke.
   */
  halfOpen(silent: string, reset: string): number {
    let n = 0;
    for (const c of [...this.conns]) {
      const keep =
        c.from === silent && c.to === reset ? c.client : c.from === reset && c.to === silent ? c.upstream : undefined;
      if (!keep) continue;
      const gone = keep === c.client ? c.upstream : c.client;
      this.conns.delete(c);
      for (const p of c.pipes) p.stop();
      for (const s of [keep, gone]) s.removeAllListeners('data').removeAllListeners('close');
      keep.removeAllListeners('error');
      keep.on('error', () => {});
      keep.on('data', () => {}); // swallowed: the sender's writes go nowhere
      keep.resume();
      this.zombies.add(keep);
      gone.resetAndDestroy();
      n++;
    }
    return n;
  }

  /** Removes every cut and delay; what waited is delivered. */
  heal(): void {
    this.cuts.clear();
    this.delays.clear();
    for (const c of this.conns) for (const p of c.pipes) p.pump();
  }

  /** Ordered links cut now, as "from>to". */
  get cutLinks(): string[] {
    return [...this.cuts];
  }

  /** Open proxied connections by link "from>to" ('?' for a source that is not a node). */
  connections(): Map<string, number> {
    const out = new Map<string, number>();
    for (const c of this.conns) {
      const k = `${c.from ?? '?'}>${c.to}`;
      out.set(k, (out.get(k) ?? 0) + 1);
    }
    return out;
  }

  private link(from: string | undefined, to: string | undefined): { cut: boolean; delayMs: number } {
    if (from === undefined || to === undefined || from === to) return { cut: false, delayMs: 0 };
    const k = `${from}>${to}`;
    return { cut: this.cuts.has(k), delayMs: this.delays.get(k) ?? 0 };
  }

  private listen(t: ProxyTarget): Promise<void> {
    const server = net.createServer({ pauseOnConnect: true }, (client) => this.accept(client, t));
    this.servers.set(t.id, server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        this.ports.set(t.id, (server.address() as net.AddressInfo).port);
        resolve();
      });
    });
  }

  private accept(client: net.Socket, t: ProxyTarget): void {
    const from = this.identify(client);
    const upstream = net.connect({ host: t.host, port: t.port });
    const conn: Conn = { from, to: t.id, client, upstream, pipes: [] };
    this.conns.add(conn);
    const close = (): void => {
      if (!this.conns.delete(conn)) return;
      for (const p of conn.pipes) p.stop();
      client.destroy();
      upstream.destroy();
    };
    // A reset or error on either side resets the other at once; a clean end travels as a queued FIN
    // and the connection is forgotten once both have travelled (or both sockets are gone).
    const settle = (): void => {
      if (conn.pipes.every((p) => p.done) || (client.destroyed && upstream.destroyed)) close();
    };
    for (const s of [client, upstream]) {
      s.on('error', close);
      s.on('close', settle);
    }
    upstream.once('connect', () => {
      upstream.setNoDelay(true);
      client.setNoDelay(true);
      conn.pipes.push(
        new Pipe(client, upstream, () => this.link(from, t.id), settle),
        new Pipe(upstream, client, () => this.link(t.id, from), settle),
      );
      client.resume();
    });
  }

  async close(): Promise<void> {
    for (const c of this.conns) {
      for (const p of c.pipes) p.stop();
      c.client.destroy();
      c.upstream.destroy();
    }
    this.conns.clear();
    for (const z of this.zombies) z.destroy();
    this.zombies.clear();
    await Promise.all([...this.servers.values()].map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}

/**
 * Identifies a connection's source by the process owning its other end: `pids()` maps each node's
 * current process id to its node id (it changes as nodes restart). Linux only (/proc).
 */
export function identifyByPid(pids: () => Map<number, string>): Identify {
  return (socket) => {
    const inode = peerInode(socket.remotePort, socket.localPort);
    if (inode === undefined) return undefined;
    const want = `socket:[${inode}]`;
    for (const [pid, id] of pids()) {
      let fds: string[];
      try {
        fds = readdirSync(`/proc/${pid}/fd`);
      } catch {
        continue;
      }
      for (const fd of fds) {
        try {
          if (readlinkSync(`/proc/${pid}/fd/${fd}`) === want) return id;
        } catch {
          // closed meanwhile
        }
      }
    }
    return undefined;
  };
}

/** The inode of the TCP socket whose local port is `port` and remote port `remotePort`. */
function peerInode(port: number | undefined, remotePort: number | undefined): string | undefined {
  if (port === undefined || remotePort === undefined) return undefined;
  const hex = (n: number): string => n.toString(16).toUpperCase().padStart(4, '0');
  const local = `:${hex(port)}`;
  const remote = `:${hex(remotePort)}`;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      const f = line.trim().split(/\s+/);
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      if (f.length > 9 && f[1]!.endsWith(local) && f[2]!.endsWith(remote)) return f[9];
    }
  }
  return undefined;
}

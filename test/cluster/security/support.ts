// Helpers of the security tests: a seeded PRNG, raw peer-port connections that skip the handshake,
// a fake process squatting on a node's peer port, and fetch with a token.

import net from 'node:net';
import { FrameDecoder } from '../../../cluster/protocol/frame-codec.js';
import { decodeMessage, encodeMessage, type Message, MsgType } from '../../../cluster/protocol/messages.js';
import { PeerConnection } from '../../../cluster/protocol/peer-connection.js';
import { authenticateWithToken } from '../../../cluster/security/peer-auth.js';

/** A seedable generator for fuzzing: the engine's mulberry32. */
export { mulberry32 as prng } from '../../../engine/util/random.js';

export function authFetch(token: string | undefined, ca?: Buffer) {
  return async (
    url: string,
    init: { method?: string; body?: Uint8Array | string; headers?: Record<string, string> } = {},
  ) => {
    const headers: Record<string, string> = { ...init.headers };
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    const { secureFetch } = await import('../../../cluster/security/http-fetch.js');
    const body = typeof init.body === 'string' ? Buffer.from(init.body) : init.body;
    return secureFetch(url, {
      method: init.method ?? 'GET',
      headers,
      ...(body ? { body } : {}),
      ...(ca ? { ca } : {}),
      signal: AbortSignal.timeout(20_000),
    });
  };
}

/** A plain peer connection, no handshake (or a token handshake when `token` is given). */
export function rawPeer(port: number, token?: string): Promise<PeerConnection> {
  return PeerConnection.connect('127.0.0.1', port, {
    maxFrameBytes: 64 << 20,
    epoch: () => 1,
    ...(token ? { handshake: (c: PeerConnection) => authenticateWithToken(c, token).then(() => {}) } : {}),
  });
}

/** Sends raw bytes and resolves once the node closes the socket (or after `ms`, with false). */
export function sendAndWaitClose(port: number, bytes: Uint8Array[], ms = 5000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    sock.on('error', () => {});
    const timer = setTimeout(() => {
      sock.destroy();
      resolve(false);
    }, ms);
    sock.once('connect', () => {
      for (const b of bytes) sock.write(b);
    });
    sock.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

export interface Squatter {
  received: number[];
  close(): Promise<void>;
}

/**
 * A process listening on a dead node's peer port that acts like an unauthenticated node of old: it
 * answers every request (the handshake with a made-up proof), replies to REGISTER with `topology`,
 * and pushes a "resync" of one key at LSN 10^12 to whoever connects.
 */
export async function squat(
  port: number,
  opts: { topology?: unknown; resyncKey?: Uint8Array } = {},
): Promise<Squatter> {
  const received: number[] = [];
  const socks = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    socks.add(sock);
    sock.on('error', () => {});
    sock.on('close', () => socks.delete(sock));
    if (opts.resyncKey) {
      for (let p = 0; p < 8; p++) {
        sock.write(encodeMessage(MsgType.RESYNC_BEGIN, 0, 1, { p, lsn: 1e12 }));
        sock.write(encodeMessage(MsgType.RESYNC_CHUNK, 0, 1, { p, e: [[opts.resyncKey, Uint8Array.of(0, 0x66)]] }));
        sock.write(encodeMessage(MsgType.RESYNC_END, 0, 1, { p, lsn: 1e12 }));
      }
    }
    const dec = new FrameDecoder(1 << 20);
    sock.on('data', (chunk: Buffer) => {
      try {
        dec.push(chunk, (body) => {
          let m: Message;
          try {
            m = decodeMessage(body);
          } catch {
            return;
          }
          received.push(m.type);
          if (m.id === 0) return;
          const reply =
            m.type === MsgType.AUTH_HELLO
              ? { node: (m.body as { to?: string }).to, n: Buffer.alloc(32, 1), mac: Buffer.alloc(32, 2) }
              : m.type === MsgType.REGISTER || m.type === MsgType.TOPOLOGY
                ? (opts.topology ?? null)
                : m.type === MsgType.SUBSCRIBE
                  ? { mode: 'resync' }
                  : null;
          sock.write(encodeMessage(MsgType.REPLY, m.id, 2, reply));
        });
      } catch {
        sock.destroy();
      }
    });
  });
  await new Promise<void>((r, j) => {
    server.once('error', j);
    server.listen(port, '127.0.0.1', () => r());
  });
  return {
    received,
    close: () =>
      new Promise((r) => {
        for (const s of socks) s.destroy();
        server.close(() => r());
      }),
  };
}

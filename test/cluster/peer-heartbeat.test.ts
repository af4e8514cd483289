// Liveness of one peer connection (peer-connection.ts): heartbeats keep an idle link open; a link
// whose other end heartbeated and then went silent is closed after silenceTimeoutMs with a
// PEER_SILENT reason; an end that never heartbeats (an older peer) is never timed out; the accepting
// end sends its first heartbeat at once; the connections of a process with the same heartbeat
// period share one timer, which goes when the last of them closes.

import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type Eau2Error, ErrorCode } from '../../kv/index.js';
import { encodeMessage, MsgType } from '../../cluster/protocol/messages.js';
import { livenessTimers, PeerConnection } from '../../cluster/protocol/peer-connection.js';

const servers: net.Server[] = [];
const conns: PeerConnection[] = [];

afterEach(() => {
  for (const c of conns.splice(0)) c.destroy();
  for (const s of servers.splice(0)) s.close();
});

/** A server whose accepted sockets are handed to `onSocket`; resolves with its port. */
async function server(onSocket: (s: net.Socket) => void): Promise<number> {
  const s = net.createServer(onSocket);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return (s.address() as net.AddressInfo).port;
}

const LIVENESS = { heartbeatMs: 50, silenceTimeoutMs: 300 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function connect(port: number): Promise<PeerConnection> {
  const c = await PeerConnection.connect('127.0.0.1', port, { maxFrameBytes: 1 << 20, epoch: () => 0, ...LIVENESS });
  conns.push(c);
  return c;
}

describe('peer connection heartbeats', () => {
  it('check many connections with one timer, each still heartbeating, and drop it with the last', async () => {
    const ODD = { heartbeatMs: 37, silenceTimeoutMs: 300 }; // a period no other connection uses
    const accepted: PeerConnection[] = [];
    const heartbeats = new Map<net.Socket, number>();
    const port = await server((s) => {
      heartbeats.set(s, 0);
      accepted.push(
        new PeerConnection(s, {
          maxFrameBytes: 1 << 20,
          epoch: () => 0,
          heartbeatMs: 0,
          silenceTimeoutMs: 0,
          // Counts what arrives: nothing but heartbeats is sent on these connections.
          admit: (m) => {
            if (m.type === MsgType.HEARTBEAT) heartbeats.set(s, heartbeats.get(s)! + 1);
            return true;
          },
        }),
      );
    });
    const before = livenessTimers();
    const mine: PeerConnection[] = [];
    for (let i = 0; i < 8; i++) {
      const c = await PeerConnection.connect('127.0.0.1', port, { maxFrameBytes: 1 << 20, epoch: () => 0, ...ODD });
      mine.push(c);
      conns.push(c);
    }
    expect(livenessTimers()).toBe(before + 1);
    await sleep(600);
    expect(heartbeats.size).toBe(8);
    // ~16 periods each: every connection is checked every period, not one of them now and then.
    for (const n of heartbeats.values()) expect(n).toBeGreaterThanOrEqual(5);
    for (const c of mine) expect(c.closed).toBe(false);
    for (const c of mine) c.destroy();
    for (const c of accepted) c.destroy();
    await sleep(50); // 'close' is emitted asynchronously
    expect(livenessTimers()).toBe(before);
  });

  it('keep an idle connection between two peers open', async () => {
    const port = await server((s) =>
      conns.push(new PeerConnection(s, { maxFrameBytes: 1 << 20, epoch: () => 0, ...LIVENESS })),
    );
    const c = await connect(port);
    await sleep(1200); // four silence timeouts with nothing but heartbeats
    expect(c.closed).toBe(false);
    expect(conns[0]!.closed).toBe(false);
  });

  it('close a connection whose peer heartbeated and then went silent', async () => {
    let peer: net.Socket | undefined;
    const port = await server((s) => {
      peer = s;
      s.on('data', () => {}); // reads, never answers again
      s.write(encodeMessage(MsgType.HEARTBEAT, 0, 0, null));
    });
    const c = await connect(port);
    const pending = c.request(MsgType.STATUS, null, 0).catch((e: Eau2Error) => e);
    const t0 = performance.now();
    const err = (await pending) as Eau2Error;
    expect(err.code).toBe(ErrorCode.UNAVAILABLE);
    expect(err.message).toMatch(/silent/);
    expect(c.closed).toBe(true);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(250);
    peer?.destroy();
  });

  it('keep a connection whose peer heartbeats while a request times out', async () => {
    const port = await server((s) => {
      s.on('data', () => {}); // never answers the request
      const t = setInterval(() => s.write(encodeMessage(MsgType.HEARTBEAT, 0, 0, null)), 50);
      s.on('close', () => clearInterval(t));
    });
    const c = await connect(port);
    const err = (await c.request(MsgType.STATUS, null, 200).catch((e: unknown) => e)) as Eau2Error;
    expect(err.code).toBe(ErrorCode.TIMEOUT);
    expect(c.closed).toBe(false);
  });

  it('send the first heartbeat at once, not a heartbeat period later', async () => {
    const port = await server((s) =>
      conns.push(new PeerConnection(s, { maxFrameBytes: 1 << 20, epoch: () => 0, heartbeatMs: 5000 })),
    );
    const raw = net.connect(port, '127.0.0.1');
    const t0 = performance.now();
    const first = await new Promise<Buffer>((r) => raw.once('data', r));
    raw.destroy();
    expect(performance.now() - t0).toBeLessThan(2500); // the period is 5 s
    expect(first.subarray(4, 6)).toEqual(encodeMessage(MsgType.HEARTBEAT, 0, 0, null).subarray(4, 6));
  });

  it('never time out a peer that does not heartbeat (an older node)', async () => {
    const port = await server((s) => s.on('data', () => {}));
    const c = await connect(port);
    await sleep(900);
    expect(c.closed).toBe(false);
  });
});

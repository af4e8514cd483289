// The peer-port handshake (cluster/security/peer-auth.ts) between real PeerConnections on loopback:
// mutual proof between members, tokens for clients, and the refusals (wrong secret, a non-member, a
// squatter posing as a node, a proof replayed or reflected, frames before the handshake).

import net from 'node:net';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, isEau2Error } from '../../../kv/index.js';
import { encodeMessage, MsgType } from '../../../cluster/protocol/messages.js';
import { PeerConnection } from '../../../cluster/protocol/peer-connection.js';
import {
  admitFromProvenRemote,
  authenticateAsNode,
  authenticateWithToken,
  handshakeMac,
  PeerGate,
  PRE_AUTH_FRAME_BYTES,
} from '../../../cluster/security/peer-auth.js';
import { clientTls, makeLocalPki, nodeClientTls, peerServerTls } from '../../../cluster/security/tls.js';
import { createToken, TokenSet } from '../../../cluster/security/tokens.js';

const SECRET = Buffer.from('s'.repeat(40));
const reader = createToken('read', 'reader');

interface Server {
  port: number;
  dispatched: number[];
  unauthenticated: number;
  refused: string[];
  conns: PeerConnection[];
  close(): Promise<void>;
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(opts: { secret?: Buffer; tls?: tls.TlsOptions; requireNodeCert?: boolean } = {}): Promise<Server> {
  const s: Server = { port: 0, dispatched: [], unauthenticated: 0, refused: [], conns: [], close: async () => {} };
  const gate = new PeerGate({
    selfId: 'n2',
    secret: opts.secret ?? SECRET,
    isMember: (id) => ['n1', 'n2', 'n3'].includes(id),
    tokens: new TokenSet([reader.entry]),
    requireNodeCert: opts.requireNodeCert ?? false,
    onUnauthenticatedFrame: () => s.unauthenticated++,
    onRefused: (r) => s.refused.push(r),
  });
  const onSocket = (socket: net.Socket): void => {
    const conn: PeerConnection = new PeerConnection(socket, {
      maxFrameBytes: 1 << 20,
      initialMaxFrameBytes: PRE_AUTH_FRAME_BYTES,
      epoch: () => 1,
      admit: (m, c) => gate.admit(m, c),
      onProtocolError: (_e, c) => {
        if (!c.principal) gate.refuseUnauthenticated(undefined, c);
      },
      onMessage: (m, c) => {
        s.dispatched.push(m.type);
        c.reply(m.id, { ok: true });
      },
    });
    s.conns.push(conn);
  };
  const server = opts.tls ? tls.createServer(opts.tls, onSocket) : net.createServer(onSocket);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  s.port = (server.address() as net.AddressInfo).port;
  s.close = () =>
    new Promise((r) => {
      for (const c of s.conns) c.destroy();
      server.close(() => r());
    });
  servers.push(s);
  return s;
}

const connect = (port: number, extra: Partial<Parameters<typeof PeerConnection.connect>[2]> = {}) =>
  PeerConnection.connect('127.0.0.1', port, { maxFrameBytes: 1 << 20, epoch: () => 1, ...extra });

function closed(c: PeerConnection): Promise<void> {
  return new Promise((r) => (c.socket.destroyed ? r() : c.socket.once('close', () => r())));
}

describe('peer authentication', () => {
  it('members prove themselves to each other, then may send anything', async () => {
    const s = await serve();
    const c = await connect(s.port, {
      handshake: (x) => authenticateAsNode(x, { selfId: 'n1', peerId: 'n2', secret: SECRET }),
    });
    expect(c.principal).toEqual({ kind: 'node', node: 'n2' });
    await c.request(MsgType.SUBSCRIBE, { p: 0, from: 0, node: 'n1' });
    await c.request(MsgType.PULL, { p: 0 });
    expect(s.dispatched).toEqual([MsgType.SUBSCRIBE, MsgType.PULL]);
    expect(s.conns[0]!.principal).toEqual({ kind: 'node', node: 'n1' });
    c.destroy();
  });

  it('a node with the wrong secret is refused, and so is a squatter on a member port', async () => {
    const s = await serve();
    const err = await connect(s.port, {
      handshake: (x) => authenticateAsNode(x, { selfId: 'n1', peerId: 'n2', secret: Buffer.from('x'.repeat(40)) }),
    }).catch((e) => e);
    // The client checks the responder's proof first: with another secret it is the server that fails it.
    expect(isEau2Error(err, ErrorCode.UNAVAILABLE)).toBe(true);
    // A squatter (another secret) on "n2"'s port: the real n1 does not believe it.
    const squatter = await serve({ secret: Buffer.from('q'.repeat(40)) });
    const e2 = await connect(squatter.port, {
      handshake: (x) => authenticateAsNode(x, { selfId: 'n1', peerId: 'n2', secret: SECRET }),
    }).catch((e) => e);
    expect(e2.message).toMatch(/could not prove it belongs to the cluster/);
    expect(squatter.dispatched).toEqual([]);
  });

  it('refuses a non-member, a hello to another node, a forged proof, and a reflected proof', async () => {
    const s = await serve();
    for (const [selfId, peerId] of [
      ['evil', 'n2'],
      ['n1', 'n3'],
    ] as [string, string][]) {
      const e = await connect(s.port, {
        handshake: (x) => authenticateAsNode(x, { selfId, peerId, secret: SECRET }),
      }).catch((x) => x);
      expect(isEau2Error(e, ErrorCode.UNAUTHENTICATED), `${selfId}->${peerId}`).toBe(true);
    }
    // Without the secret: the server's own MAC sent back (reflection) or garbage are refused.
    const c = await connect(s.port);
    const nI = Buffer.alloc(32, 7);
    const r = (await c.request(MsgType.AUTH_HELLO, { node: 'n1', to: 'n2', n: nI })) as {
      n: Uint8Array;
      mac: Uint8Array;
    };
    const e = await c.request(MsgType.AUTH_PROOF, { mac: r.mac }).catch((x) => x);
    expect(isEau2Error(e, ErrorCode.UNAUTHENTICATED)).toBe(true);
    await closed(c);
    // ... and a proof made for another pair of nodes is no good here.
    const c2 = await connect(s.port);
    const r2 = (await c2.request(MsgType.AUTH_HELLO, { node: 'n1', to: 'n2', n: nI })) as { n: Uint8Array };
    const wrongPair = handshakeMac(SECRET, 'I', 'n3', 'n2', nI, r2.n);
    expect(
      isEau2Error(await c2.request(MsgType.AUTH_PROOF, { mac: wrongPair }).catch((x) => x), ErrorCode.UNAUTHENTICATED),
    ).toBe(true);
    await closed(c2);
    expect(s.dispatched).toEqual([]);
    expect(s.conns.every((x) => x.principal === undefined)).toBe(true);
  });

  it('clients present a token; their role limits what they may send; members-only messages are refused', async () => {
    const s = await serve();
    const c = await connect(s.port, { handshake: (x) => authenticateWithToken(x, reader.token).then(() => {}) });
    await c.request(MsgType.GET, { k: Buffer.from('a') });
    const put = await c.request(MsgType.PUT, { k: Buffer.from('a'), v: Buffer.from([0, 1]) }).catch((e) => e);
    expect(isEau2Error(put, ErrorCode.FORBIDDEN)).toBe(true);
    for (const t of [MsgType.SUBSCRIBE, MsgType.PULL, MsgType.REGISTER]) {
      const e = await c.request(t, { p: 0, from: 0, node: 'n3' }).catch((x) => x);
      expect(isEau2Error(e, ErrorCode.FORBIDDEN)).toBe(true);
    }
    c.send(MsgType.ACK, { p: 0, lsn: 2 ** 50 });
    await c.request(MsgType.GET, { k: Buffer.from('b') });
    expect(s.dispatched).toEqual([MsgType.GET, MsgType.GET]);
    const bad = await connect(s.port, { handshake: (x) => authenticateWithToken(x, 'eau2_nope').then(() => {}) }).catch(
      (e) => e,
    );
    expect(isEau2Error(bad, ErrorCode.UNAUTHENTICATED)).toBe(true);
    c.destroy();
  });

  it('closes a connection whose first frame is anything but the handshake, and counts it', async () => {
    const s = await serve();
    for (const [type, body] of [
      [MsgType.REGISTER, { node: 'n3' }],
      [MsgType.ACK, { p: 0, lsn: 2 ** 50 }],
      [MsgType.PULL, { p: 1 }],
      [MsgType.SUBSCRIBE, { p: 0, from: 0, node: 'n3' }],
      [MsgType.REPLY, null],
    ] as const) {
      const sock = net.connect(s.port, '127.0.0.1').on('error', () => {});
      await new Promise((r) => sock.once('connect', r));
      sock.write(encodeMessage(type, type === MsgType.ACK ? 0 : 1, 1, body));
      await new Promise((r) => sock.once('close', r));
    }
    // A 60 MiB length prefix before the handshake: refused on the prefix alone.
    const sock = net.connect(s.port, '127.0.0.1').on('error', () => {});
    await new Promise((r) => sock.once('connect', r));
    sock.write(Buffer.from([0x03, 0xc0, 0, 0]));
    sock.write(Buffer.alloc(64 * 1024));
    await new Promise((r) => sock.once('close', r));
    expect(s.dispatched).toEqual([]);
    expect(s.unauthenticated).toBe(6);
  });

  it('an outbound connection takes no push from a remote that has not proven itself', async () => {
    const srv = net.createServer((sock) => sock.write(encodeMessage(MsgType.RESYNC_BEGIN, 0, 1, { p: 0, lsn: 1e12 })));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const got: number[] = [];
    const c = await connect((srv.address() as net.AddressInfo).port, {
      admit: admitFromProvenRemote,
      onMessage: (m) => got.push(m.type),
    });
    await closed(c);
    expect(got).toEqual([]);
    srv.close();
  });
});

describe('TLS on the peer port', () => {
  it('is mutual between nodes of one CA; a server of another CA is refused', async () => {
    const pki = await makeLocalPki(1);
    const other = await makeLocalPki(1);
    const m = { cert: Buffer.from(pki.nodes.cert), key: Buffer.from(pki.nodes.key), ca: Buffer.from(pki.ca.cert) };
    const s = await serve({ tls: peerServerTls(m), requireNodeCert: true });
    const c = await connect(s.port, {
      tls: nodeClientTls(m),
      handshake: (x) => authenticateAsNode(x, { selfId: 'n1', peerId: 'n2', secret: SECRET }),
    });
    expect(c.principal).toEqual({ kind: 'node', node: 'n2' });
    c.destroy();
    // A client without a certificate may use a token, but may not claim to be a node.
    const tc = await connect(s.port, {
      tls: clientTls(pki.ca.cert),
      handshake: (x) => authenticateWithToken(x, reader.token).then(() => {}),
    });
    await tc.request(MsgType.GET, { k: Buffer.from('a') });
    tc.destroy();
    const nocert = await connect(s.port, {
      tls: clientTls(pki.ca.cert),
      handshake: (x) => authenticateAsNode(x, { selfId: 'n1', peerId: 'n2', secret: SECRET }),
    }).catch((e) => e);
    expect(isEau2Error(nocert, ErrorCode.UNAUTHENTICATED)).toBe(true);
    // Verifying against another CA: the TLS handshake fails.
    const wrong = await connect(s.port, { tls: clientTls(other.ca.cert) }).catch((e) => e);
    expect(isEau2Error(wrong, ErrorCode.UNAVAILABLE)).toBe(true);
    expect(String(wrong.message)).toMatch(/certificate/i);
  });
});

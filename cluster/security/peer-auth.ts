// Authentication on the peer port (docs/security.md, "Peer port"). The port serves nodes and clients
// alike, so the first frames of every connection say who is calling:
//
// - a client sends AUTH_TOKEN {token}: a bearer token of `auth.tokens`, the same as over HTTP;
// - a node runs a mutual challenge-response over the cluster's shared secret (HMAC-SHA256):
//     initiator I -> responder R   AUTH_HELLO {node: I, to: R, n: nI}
//     R -> I                       REPLY {node: R, n: nR, mac: HMAC(s, "R" | I | R | nI | nR)}
//     I -> R                       AUTH_PROOF {mac: HMAC(s, "I" | I | R | nI | nR)}
//   Both nonces are 32 random bytes, so neither side can replay an old exchange; both MACs bind the
//   two node ids in order and a direction label, so a proof cannot be reflected back at its sender
//   or replayed to a third node; every comparison is constant-time. The initiator checks R's proof
//   before it believes anything R sends (a process squatting on a dead node's port learns nothing
//   and is never subscribed to), and R believes I only after I's proof.
//
// Until a connection has proven something it may send only these frames: anything else closes it,
// is counted (eau2_peer_unauthenticated_frames_total) and is never dispatched, and its frames are
// capped at a few KiB so a stranger cannot make the node buffer a large frame. Once proven, each
// message is checked against the caller's role (roles.ts); only members may replicate, register or
// pull. The handshake does not protect the connection afterwards: an on-path attacker who can
// rewrite traffic needs TLS to be kept out (tls.ts).

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { Eau2Error, ErrorCode } from '../../kv/index.js';
import { MsgType, type Message, validateBody } from '../protocol/messages.js';
import type { PeerConnection } from '../protocol/peer-connection.js';
import { allowed, peerNeed } from './roles.js';
import type { Principal, TokenSet } from './tokens.js';

const NONCE_BYTES = 32;
/** Largest frame accepted before a connection has authenticated: the handshake frames are ~200 bytes. */
export const PRE_AUTH_FRAME_BYTES = 4096;
const LABEL = Buffer.from('eau2-peer-auth-v1\0');

function lp(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const n = Buffer.alloc(2);
  n.writeUInt16BE(Math.min(b.length, 0xffff));
  return Buffer.concat([n, b]);
}

/** The MAC one side sends: `who` is 'I' (the initiator's proof) or 'R' (the responder's). */
export function handshakeMac(
  secret: Uint8Array,
  who: 'I' | 'R',
  initiator: string,
  responder: string,
  nI: Uint8Array,
  nR: Uint8Array,
): Buffer {
  return createHmac('sha256', secret)
    .update(LABEL)
    .update(who)
    .update(lp(initiator))
    .update(lp(responder))
    .update(nI)
    .update(nR)
    .digest();
}

function sameMac(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function unauthenticated(msg: string): Eau2Error {
  return new Eau2Error(ErrorCode.UNAUTHENTICATED, msg);
}

export interface PeerGateOptions {
  selfId: string;
  /** The cluster's shared secret (auth.peerSecretFile's bytes). */
  secret: Uint8Array;
  isMember: (nodeId: string) => boolean;
  tokens: TokenSet;
  /** With TLS: a node must also have presented a certificate signed by the cluster CA. */
  requireNodeCert: boolean;
  /** Called for every frame refused before authentication (the connection is then closed). */
  onUnauthenticatedFrame?: (msg: Message | undefined, conn: PeerConnection) => void;
  /** Called for a failed handshake or a message the caller's role does not allow. */
  onRefused?: (reason: 'bad-token' | 'bad-proof' | 'forbidden', conn: PeerConnection, detail: string) => void;
  /** Called once a connection has proven who it is. */
  onAuthenticated?: (who: Principal, conn: PeerConnection) => void;
}

interface Challenge {
  initiator: string;
  nI: Uint8Array;
  nR: Uint8Array;
}

/** The inbound side: decides, frame by frame, what an inbound connection may do. */
export class PeerGate {
  private readonly challenges = new WeakMap<PeerConnection, Challenge>();

  constructor(private readonly opts: PeerGateOptions) {}

  /**
   * True when `msg` may be dispatched. Handshake frames are answered here; anything else from an
   * unauthenticated connection closes it; a message the caller may not send is answered FORBIDDEN.
   */
  admit(msg: Message, conn: PeerConnection): boolean {
    const who = conn.principal;
    if (msg.type === MsgType.AUTH_HELLO || msg.type === MsgType.AUTH_PROOF || msg.type === MsgType.AUTH_TOKEN) {
      if (who) {
        conn.replyError(msg.id, ErrorCode.INVALID, 'this connection has already authenticated');
        return false;
      }
      this.handshake(msg, conn);
      return false;
    }
    if (!who) {
      this.refuseUnauthenticated(msg, conn);
      return false;
    }
    if (msg.type === MsgType.REPLY || msg.type === MsgType.ERROR) return true;
    if (!allowed(who, peerNeed(msg.type))) {
      this.opts.onRefused?.('forbidden', conn, `type 0x${msg.type.toString(16)}`);
      conn.replyError(
        msg.id,
        ErrorCode.FORBIDDEN,
        who.kind === 'token' ? `role ${who.role} may not send message type 0x${msg.type.toString(16)}` : 'forbidden',
      );
      return false;
    }
    return true;
  }

  /** A frame that could not even be decoded, before authentication: the connection goes. */
  refuseUnauthenticated(msg: Message | undefined, conn: PeerConnection): void {
    if (conn.refuseAll) return; // a later frame of the same chunk: counted once per connection
    conn.refuseAll = true;
    this.opts.onUnauthenticatedFrame?.(msg, conn);
    conn.destroy();
  }

  private handshake(msg: Message, conn: PeerConnection): void {
    try {
      if (msg.id === 0) throw unauthenticated('handshake frames must be requests');
      if (msg.type === MsgType.AUTH_TOKEN) {
        const b = validateBody(MsgType.AUTH_TOKEN, msg.body);
        const who = this.opts.tokens.verify(b.token);
        if (!who) {
          this.opts.onRefused?.('bad-token', conn, 'unknown token');
          throw unauthenticated('unknown token');
        }
        this.authenticated(conn, who);
        conn.reply(msg.id, { role: who.role });
        return;
      }
      if (msg.type === MsgType.AUTH_HELLO) {
        const b = validateBody(MsgType.AUTH_HELLO, msg.body);
        if (this.challenges.has(conn)) throw unauthenticated('a handshake is already under way');
        if (b.n.length !== NONCE_BYTES) throw unauthenticated('bad nonce');
        if (b.to !== this.opts.selfId || !this.opts.isMember(b.node)) {
          this.opts.onRefused?.('bad-proof', conn, `hello from "${b.node}" to "${b.to}"`);
          throw unauthenticated('not a member of this cluster');
        }
        if (this.opts.requireNodeCert && (conn.socket as TLSSocket).authorized !== true) {
          this.opts.onRefused?.('bad-proof', conn, 'no certificate of the cluster CA');
          throw unauthenticated('a node must present a certificate signed by the cluster CA');
        }
        const nI = Uint8Array.prototype.slice.call(b.n) as Uint8Array;
        const nR = randomBytes(NONCE_BYTES);
        this.challenges.set(conn, { initiator: b.node, nI, nR });
        conn.reply(msg.id, {
          node: this.opts.selfId,
          n: nR,
          mac: handshakeMac(this.opts.secret, 'R', b.node, this.opts.selfId, nI, nR),
        });
        return;
      }
      const b = validateBody(MsgType.AUTH_PROOF, msg.body);
      const c = this.challenges.get(conn);
      this.challenges.delete(conn);
      if (!c) throw unauthenticated('AUTH_PROOF without AUTH_HELLO');
      const want = handshakeMac(this.opts.secret, 'I', c.initiator, this.opts.selfId, c.nI, c.nR);
      if (!sameMac(b.mac, want)) {
        this.opts.onRefused?.('bad-proof', conn, `bad proof from "${c.initiator}"`);
        throw unauthenticated('bad proof');
      }
      this.authenticated(conn, { kind: 'node', node: c.initiator });
      conn.reply(msg.id, null);
    } catch (e) {
      const err = e instanceof Eau2Error ? e : unauthenticated(String(e));
      conn.replyError(msg.id, ErrorCode.UNAUTHENTICATED, err.message);
      // After the refusal is written: PeerConnection flushes on setImmediate, so one more turn.
      setImmediate(() => setImmediate(() => conn.destroy()));
      this.challenges.delete(conn);
      conn.refuseAll = true;
    }
  }

  private authenticated(conn: PeerConnection, who: Principal): void {
    conn.principal = who;
    conn.raiseFrameLimit();
    this.opts.onAuthenticated?.(who, conn);
  }
}

/** The outbound side, node to node: proves this node and checks the responder's proof first. */
export async function authenticateAsNode(
  conn: PeerConnection,
  opts: { selfId: string; peerId: string; secret: Uint8Array; timeoutMs?: number },
): Promise<void> {
  const timeout = opts.timeoutMs ?? 3000;
  const nI = randomBytes(NONCE_BYTES);
  const r = (await conn.request(MsgType.AUTH_HELLO, { node: opts.selfId, to: opts.peerId, n: nI }, timeout)) as {
    node?: unknown;
    n?: unknown;
    mac?: unknown;
  } | null;
  const nR = r?.n;
  const mac = r?.mac;
  const ok =
    r?.node === opts.peerId &&
    nR instanceof Uint8Array &&
    nR.length === NONCE_BYTES &&
    mac instanceof Uint8Array &&
    sameMac(mac, handshakeMac(opts.secret, 'R', opts.selfId, opts.peerId, nI, nR));
  if (!ok) {
    conn.destroy();
    throw new Eau2Error(
      ErrorCode.UNAVAILABLE,
      `the process at node ${opts.peerId}'s peer address could not prove it belongs to the cluster`,
      { details: { wireCode: ErrorCode.UNAUTHENTICATED } },
    );
  }
  await conn.request(
    MsgType.AUTH_PROOF,
    { mac: handshakeMac(opts.secret, 'I', opts.selfId, opts.peerId, nI, nR as Uint8Array) },
    timeout,
  );
  conn.principal = { kind: 'node', node: opts.peerId };
  conn.raiseFrameLimit();
}

/** The outbound side for a client: presents its bearer token; resolves with the token's role. */
export async function authenticateWithToken(conn: PeerConnection, token: string, timeoutMs = 3000): Promise<string> {
  const r = (await conn.request(MsgType.AUTH_TOKEN, { token }, timeoutMs)) as { role?: unknown } | null;
  return typeof r?.role === 'string' ? r.role : 'unknown';
}

/**
 * For outbound connections: until the remote has proven itself, only replies to our own requests
 * (the handshake) are taken; a push from an unproven remote closes the connection.
 */
export function admitFromProvenRemote(msg: Message, conn: PeerConnection): boolean {
  if (conn.principal || msg.type === MsgType.REPLY || msg.type === MsgType.ERROR) return true;
  conn.destroy();
  return false;
}

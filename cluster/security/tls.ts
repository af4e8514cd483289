// TLS for both ports (docs/security.md, "TLS"). With `tls` configured a node serves HTTPS, and its
// peer port speaks TLS: the node presents its certificate, asks callers for one (nodes present
// theirs, so node-to-node TLS is mutual; clients on the peer port have none and authenticate with a
// token instead), and every node verifies the others against the cluster CA. `eau2 local --secure`
// makes a throwaway CA and node certificates with `selfsigned` (makeLocalPki).

import type { SecureContextOptions, ConnectionOptions, TlsOptions } from 'node:tls';

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca: Buffer;
}

/** Only TLS 1.2 and later; Node's default ciphers. */
const MIN_VERSION = 'TLSv1.2' as const;

/** The peer port's server side: asks for, but does not demand, a client certificate (clients use tokens). */
export function peerServerTls(m: TlsMaterial): TlsOptions {
  return { cert: m.cert, key: m.key, ca: m.ca, requestCert: true, rejectUnauthorized: false, minVersion: MIN_VERSION };
}

/** The HTTPS server's options. */
export function httpsServerTls(m: TlsMaterial): SecureContextOptions & { minVersion: 'TLSv1.2' } {
  return { cert: m.cert, key: m.key, minVersion: MIN_VERSION };
}

/** A node connecting to another node's peer port: verifies it against the CA and presents its own certificate. */
export function nodeClientTls(m: TlsMaterial): ConnectionOptions {
  return { cert: m.cert, key: m.key, ca: m.ca, rejectUnauthorized: true, minVersion: MIN_VERSION };
}

/** A client (ClusterClient, CLI): verifies the server against `ca`. */
export function clientTls(ca: Buffer | string): ConnectionOptions {
  return { ca, rejectUnauthorized: true, minVersion: MIN_VERSION };
}

export interface LocalPki {
  ca: { cert: string; key: string };
  /** One certificate per node, each valid for 127.0.0.1, ::1 and localhost (server and client use). */
  nodes: { cert: string; key: string };
}

/** A throwaway CA and one node certificate for loopback (`eau2 local --secure`), valid for `days`. */
export async function makeLocalPki(days = 30): Promise<LocalPki> {
  // Loaded only here: selfsigned pulls in an X.509 library that every node would otherwise load.
  const { default: selfsigned } = await import('selfsigned');
  const notBeforeDate = new Date(Date.now() - 60_000);
  const notAfterDate = new Date(Date.now() + days * 86_400_000);
  const ca = await selfsigned.generate([{ name: 'commonName', value: 'eau2 local CA' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  const leaf = await selfsigned.generate([{ name: 'commonName', value: 'eau2 node' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  return { ca: { cert: ca.cert, key: ca.private }, nodes: { cert: leaf.cert, key: leaf.private } };
}

// A small fetch for clients of a node's HTTP API that must trust a cluster CA (`--ca`, the client's
// `ca` option): the global fetch cannot be given a CA, so requests go through node:https with it,
// and come back as a standard Response. Without a CA the global fetch is used.

import http from 'node:http';
import https from 'node:https';
import { clientTls } from './tls.js';

export interface SecureFetchInit {
  method?: string;
  headers?: Record<string, string>;
  body?: Uint8Array;
  signal?: AbortSignal;
  /** PEM of the CA that signed the node's certificate. */
  ca?: string | Buffer;
}

export function secureFetch(url: string | URL, init: SecureFetchInit = {}): Promise<Response> {
  const { ca, ...rest } = init;
  if (ca === undefined) return fetch(url, rest);
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const mod = u.protocol === 'https:' ? https : http;
    const req = mod.request(
      u,
      {
        method: init.method ?? 'GET',
        headers: init.headers,
        ...(u.protocol === 'https:' ? clientTls(ca) : {}),
        signal: init.signal,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const headers = new Headers();
          for (const [k, v] of Object.entries(res.headers))
            if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
          const status = res.statusCode ?? 500;
          const body = status === 204 || status === 304 ? null : Buffer.concat(chunks);
          resolve(new Response(body, { status, headers }));
        });
      },
    );
    req.on('error', (e) => reject(new TypeError(`fetch failed: ${e.message}`, { cause: e })));
    req.end(init.body);
  });
}

// Routes a new user meets first: HEAD on every GET route (answers like GET, without a body), GET /
// describing the node with links to its routes, and values uploaded the way curl does by default
// (-d/--data-binary send Content-Type: application/x-www-form-urlencoded) stored untyped unless the
// body really is a form.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster } from './support/cluster-harness.js';

const VERSION = (
  JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string }
).version;
const CURL_FORM = { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'curl/8.5.0' };

describe('HEAD, GET / and curl uploads', () => {
  let c: TestCluster;
  let url: string;
  beforeAll(async () => {
    c = await TestCluster.start({ nodes: 1, partitions: 2, replicationFactor: 1 });
    url = c.node('n1').url;
    const r = await fetch(`${url}/kv/h`, { method: 'PUT', body: 'hello', headers: { 'content-type': 'text/plain' } });
    expect(r.status).toBe(204);
  });
  afterAll(async () => {
    await c?.stop();
  });

  it('answers HEAD /kv/<key> like GET, without a body', async () => {
    const get = await fetch(`${url}/kv/h`);
    const head = await fetch(`${url}/kv/h`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe('text/plain');
    expect(head.headers.get('content-length')).toBe(get.headers.get('content-length'));
    expect(await head.text()).toBe('');
    expect(await get.text()).toBe('hello');
    const missing = await fetch(`${url}/kv/absent`, { method: 'HEAD' });
    expect(missing.status).toBe(404);
    for (const path of ['/kv', '/healthz', '/cluster', '/metrics', '/'])
      expect((await fetch(url + path, { method: 'HEAD' })).status, path).toBe(200);
    const refused = await fetch(`${url}/healthz`, { method: 'DELETE' });
    expect(refused.status).toBe(405);
    expect(refused.headers.get('allow')).toBe('GET, HEAD');
  });

  it('describes the node at GET /, with links that answer', async () => {
    const r = await fetch(`${url}/`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    const d = (await r.json()) as {
      name: string;
      version: string;
      node: string;
      serving: boolean;
      links: Record<string, { href: string; methods: string[] }>;
    };
    expect(d).toMatchObject({ name: 'eau2', version: VERSION, node: 'n1', serving: true });
    expect(Object.keys(d.links)).toEqual(
      expect.arrayContaining(['key', 'keys', 'cluster', 'health', 'metrics', 'dataframes']),
    );
    for (const l of Object.values(d.links))
      if (l.methods.includes('GET')) {
        const href = l.href.replace('{key}', 'h');
        expect((await fetch(url + href)).status, href).toBe(200);
      }
    // The seeds' API on / is unchanged.
    const put = await fetch(`${url}/`, { method: 'PUT', body: JSON.stringify({ key: '6b', value: 'v' }) });
    expect(put.status).toBe(200);
  });

  it("stores curl's default upload type as no type, and a real form as a form", async () => {
    const up = async (key: string, body: string, headers: Record<string, string>): Promise<string | null> => {
      expect((await fetch(`${url}/kv/${key}`, { method: 'PUT', body, headers })).status).toBe(204);
      const g = await fetch(`${url}/kv/${key}`);
      expect(await g.text()).toBe(body);
      return g.headers.get('content-type');
    };
    // curl -X PUT --data-binary 'v1' .../kv/greeting (the README's example)
    expect(await up('c1', 'v1', CURL_FORM)).toBe('application/octet-stream');
    expect(await up('c2', 'hello, eau2', CURL_FORM)).toBe('application/octet-stream');
    expect(await up('c3', '{"a": 1}', CURL_FORM)).toBe('application/octet-stream');
    expect(await up('c4', '', CURL_FORM)).toBe('application/octet-stream');
    // curl -d 'name=Ada&lang=en%20GB' is a form, and stays one.
    expect(await up('c5', 'name=Ada&lang=en%20GB', CURL_FORM)).toBe('application/x-www-form-urlencoded');
    // An explicit type is kept as given.
    expect(await up('c6', 'v1', { 'content-type': 'text/plain' })).toBe('text/plain');
  });
});

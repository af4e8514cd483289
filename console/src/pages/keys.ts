// Keys: browse the key space in order (prefix search, pages of 50), preview a value by its content
// type (text, JSON pretty-printed, images shown, anything else as hex), and — for a token that may
// write — put and delete keys, each after a confirmation.

import { getJson, keyPathFromHex, keyPathFromText, request } from '../api.js';
import { confirmDialog, errorBox, fill, fmtBytes, h } from '../dom.js';
import type { Page } from '../main.js';

interface ListPage {
  items: { key: string; hex: string; size: number }[];
  next: string | null;
}

const PAGE = 50;
const TEXT_LIMIT = 256 * 1024;
const HEX_LIMIT = 4096;

function hexDump(b: Uint8Array): string {
  const lines: string[] = [];
  for (let off = 0; off < Math.min(b.length, HEX_LIMIT); off += 16) {
    const row = b.subarray(off, off + 16);
    const hex = [...row].map((x) => x.toString(16).padStart(2, '0')).join(' ');
    const txt = [...row].map((x) => (x >= 0x20 && x < 0x7f ? String.fromCharCode(x) : '.')).join('');
    lines.push(`${off.toString(16).padStart(8, '0')}  ${hex.padEnd(47)}  ${txt}`);
  }
  if (b.length > HEX_LIMIT) lines.push(`… ${b.length - HEX_LIMIT} more bytes`);
  return lines.join('\n');
}

function decodeText(b: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(b.subarray(0, TEXT_LIMIT));
  } catch {
    return undefined;
  }
}

/** What a value looks like: JSON pretty, text, an image or hex, by its stored content type. */
function renderValue(type: string, b: Uint8Array, urls: string[]): HTMLElement {
  const base = type.split(';')[0]!.trim().toLowerCase();
  if (base.startsWith('image/')) {
    const url = URL.createObjectURL(new Blob([b as BlobPart], { type: base }));
    urls.push(url);
    return h('img', { src: url, class: 'preview-img', alt: 'value', 'data-test': 'preview-image' });
  }
  const text = decodeText(b);
  if ((base === 'application/json' || base.endsWith('+json')) && text !== undefined) {
    try {
      return h('pre', { class: 'code', 'data-test': 'preview-json' }, JSON.stringify(JSON.parse(text), null, 2));
    } catch {
      // not valid JSON after all: show it as text
    }
  }
  const textual =
    base.startsWith('text/') || base === 'application/json' || base.endsWith('+xml') || /charset/i.test(type);
  const printable = text !== undefined && !/[\u0000-\u0008\u000e-\u001f]/.test(text);
  if (text !== undefined && (textual || printable))
    return h(
      'pre',
      { class: 'code', 'data-test': 'preview-text' },
      text,
      b.length > TEXT_LIMIT ? `\n… ${b.length - TEXT_LIMIT} more bytes` : '',
    );
  return h('pre', { class: 'code', 'data-test': 'preview-hex' }, hexDump(b));
}

export const keysPage: Page = ({ root, who }) => {
  const canWrite = who.role !== 'read';
  const prefix = h('input', { type: 'search', placeholder: 'key prefix', 'data-test': 'prefix', size: 30 });
  const list = h('div', { class: 'keylist' });
  const preview = h(
    'section',
    { class: 'card preview', 'data-test': 'preview' },
    h('p', { class: 'muted' }, 'Select a key.'),
  );
  const pager = h('div', { class: 'row' });
  const urls: string[] = [];
  const starts: (string | null)[] = [null];
  let selected: string | undefined;

  const load = async (): Promise<void> => {
    const start = starts[starts.length - 1];
    let url = `/kv?limit=${PAGE}`;
    if (prefix.value) url += `&prefix=${keyPathFromText(prefix.value)}`;
    if (start) url += `&start=${start}`;
    try {
      const page = await getJson<ListPage>(url);
      fill(
        list,
        page.items.length === 0
          ? h('p', { class: 'muted', 'data-test': 'no-keys' }, 'No keys here.')
          : h(
              'table',
              { class: 'grid keys', 'data-test': 'keys' },
              h('thead', {}, h('tr', {}, h('th', {}, 'Key'), h('th', {}, 'Size'))),
              h(
                'tbody',
                {},
                page.items.map((it) =>
                  h(
                    'tr',
                    {
                      class: it.hex === selected ? 'selected' : '',
                      'data-test': 'key-row',
                      'data-key': it.key,
                      onclick: () => void show(it.hex, it.key),
                    },
                    h('td', { class: 'mono' }, it.key),
                    h('td', {}, fmtBytes(it.size)),
                  ),
                ),
              ),
            ),
      );
      fill(
        pager,
        h(
          'button',
          {
            disabled: starts.length <= 1,
            onclick: () => {
              starts.pop();
              void load();
            },
          },
          '← Previous',
        ),
        h('span', { class: 'muted' }, `page ${starts.length}`),
        h(
          'button',
          {
            disabled: !page.next,
            'data-test': 'next-page',
            onclick: () => {
              starts.push(page.next);
              void load();
            },
          },
          'Next →',
        ),
      );
    } catch (e) {
      fill(list, errorBox(e));
    }
  };

  const show = async (hex: string, name: string): Promise<void> => {
    selected = hex;
    for (const u of urls.splice(0)) URL.revokeObjectURL(u);
    try {
      const r = await request(`/kv/${keyPathFromHex(hex)}`);
      const type = r.headers.get('content-type') ?? 'application/octet-stream';
      const body = new Uint8Array(await r.arrayBuffer());
      fill(
        preview,
        h(
          'div',
          { class: 'row' },
          h('h3', { class: 'mono', 'data-test': 'preview-key' }, name),
          h('span', { class: 'spacer' }),
          canWrite
            ? h(
                'button',
                {
                  class: 'danger',
                  'data-test': 'delete',
                  onclick: async () => {
                    if (!(await confirmDialog('Delete key', `Delete "${name}"? This cannot be undone.`, 'Delete')))
                      return;
                    try {
                      await request(`/kv/${keyPathFromHex(hex)}`, { method: 'DELETE' });
                      fill(preview, h('p', { class: 'muted' }, `Deleted ${name}.`));
                      selected = undefined;
                      void load();
                    } catch (e) {
                      preview.append(errorBox(e));
                    }
                  },
                },
                'Delete',
              )
            : null,
        ),
        h(
          'p',
          { class: 'muted' },
          `${type} · ${fmtBytes(body.length)} · hex ${hex.slice(0, 64)}${hex.length > 64 ? '…' : ''}`,
        ),
        renderValue(type, body, urls),
      );
    } catch (e) {
      fill(preview, errorBox(e));
    }
    for (const tr of list.querySelectorAll('tr[data-test="key-row"]'))
      tr.classList.toggle('selected', (tr as HTMLElement).dataset.key === name);
  };

  const putForm = (): HTMLElement => {
    const key = h('input', { placeholder: 'key', 'data-test': 'put-key', size: 30 });
    const type = h(
      'select',
      { 'data-test': 'put-type' },
      ['text/plain', 'application/json', 'application/octet-stream'].map((t) => h('option', { value: t }, t)),
    );
    const value = h('textarea', { rows: 4, placeholder: 'value', 'data-test': 'put-value' });
    const msg = h('div');
    return h(
      'form',
      {
        class: 'card put',
        onsubmit: async (ev: Event) => {
          ev.preventDefault();
          fill(msg);
          if (!key.value) return fill(msg, errorBox('A key is needed.'));
          if (type.value === 'application/json') {
            try {
              JSON.parse(value.value);
            } catch (e) {
              return fill(msg, errorBox(`Not JSON: ${(e as Error).message}`));
            }
          }
          const bytes = new TextEncoder().encode(value.value).length;
          if (
            !(await confirmDialog(
              'Put key',
              `Write "${key.value}" (${fmtBytes(bytes)}, ${type.value})? An existing value is replaced.`,
              'Write',
            ))
          )
            return;
          try {
            await request(`/kv/${keyPathFromText(key.value)}`, {
              method: 'PUT',
              headers: { 'content-type': type.value },
              body: value.value,
            });
            fill(msg, h('span', { class: 'ok-text', 'data-test': 'put-done' }, `Stored ${key.value}.`));
            const hex = [...new TextEncoder().encode(key.value)].map((b) => b.toString(16).padStart(2, '0')).join('');
            void load().then(() => show(hex, key.value));
          } catch (e) {
            fill(msg, errorBox(e));
          }
        },
      },
      h('h3', {}, 'Put a key'),
      h('div', { class: 'row' }, key, type),
      value,
      h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary', 'data-test': 'put' }, 'Put…'), msg),
    );
  };

  fill(
    root,
    h(
      'div',
      { class: 'page-head' },
      h('h2', {}, 'Keys'),
      h(
        'form',
        {
          class: 'row',
          onsubmit: (ev: Event) => {
            ev.preventDefault();
            starts.splice(0, starts.length, null);
            void load();
          },
        },
        prefix,
        h('button', { type: 'submit', 'data-test': 'search' }, 'Search'),
      ),
      canWrite ? null : h('span', { class: 'badge', 'data-test': 'read-only' }, 'read-only token'),
    ),
    h(
      'div',
      { class: 'split' },
      h('section', { class: 'card' }, list, pager),
      h('div', {}, preview, canWrite ? putForm() : null),
    ),
  );
  void load();
  return () => {
    for (const u of urls) URL.revokeObjectURL(u);
  };
};

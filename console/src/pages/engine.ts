// Engine: each node's LSM tree drawn — the memtable and the immutable ones waiting for a flush on
// top, then one row per level with a box per table file and a bar for its bytes — with the counters
// that explain its shape (write amplification, compactions, stalls, block cache).

import { getJson, type ClusterStatus, type NodeStats } from '../api.js';
import { errorBox, fill, fmtBytes, fmtNum, h } from '../dom.js';
import type { Page } from '../main.js';
import { poll } from '../poll.js';

/** Table boxes drawn per level; a longer level shows its count in the label. */
const MAX_BOXES = 40;

function svg(tag: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** The LSM shape of one node as an SVG drawing. */
function drawLsm(s: NodeStats): SVGElement {
  const e = s.engine;
  const levels = e.levels.length > 0 ? e.levels : [{ level: 0, files: 0, bytes: 0, compactionScore: 0 }];
  const maxBytes = Math.max(1, ...levels.map((l) => l.bytes));
  const rowH = 30;
  const W = 420;
  const H = 44 + levels.length * rowH;
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'lsm', 'data-test': 'lsm', width: '100%' });
  // Memtable + immutables.
  root.append(svg('text', { x: 0, y: 16, class: 'lbl' }, 'mem'));
  root.append(svg('rect', { x: 44, y: 4, width: 60, height: 18, rx: 3, class: 'mem' }));
  for (let i = 0; i < Math.min(e.immutableMemtables ?? 0, 6); i++)
    root.append(svg('rect', { x: 110 + i * 22, y: 4, width: 18, height: 18, rx: 3, class: 'imm' }));
  root.append(
    svg(
      'text',
      { x: 250, y: 17, class: 'val' },
      `${fmtBytes(e.memtableBytes)}${e.immutableMemtables ? ` + ${e.immutableMemtables} to flush` : ''}`,
    ),
  );
  levels.forEach((l, i) => {
    const y = 36 + i * rowH;
    // The engine's own score: level 0 by tables over the trigger, the others by bytes over target.
    const pending = l.compactionScore >= 1;
    root.append(svg('text', { x: 0, y: y + 13, class: 'lbl' }, `L${l.level}`));
    const boxes = Math.min(l.files, MAX_BOXES);
    for (let f = 0; f < boxes; f++)
      root.append(svg('rect', { x: 44 + f * 5, y, width: 4, height: 10, class: pending ? 'file pending' : 'file' }));
    root.append(
      svg('rect', {
        x: 44,
        y: y + 13,
        width: Math.max(1, (l.bytes / maxBytes) * 200),
        height: 6,
        rx: 2,
        class: 'bytes',
      }),
    );
    root.append(
      svg(
        'text',
        { x: 250, y: y + 13, class: 'val' },
        `${l.files} file${l.files === 1 ? '' : 's'} · ${fmtBytes(l.bytes)} · score ${l.compactionScore.toFixed(2)}${pending ? ' · compaction due' : ''}`,
      ),
    );
  });
  return root;
}

export const enginePage: Page = ({ root }) => {
  const box = h('div', { class: 'engines' });
  fill(
    root,
    h(
      'div',
      { class: 'page-head' },
      h('h2', {}, 'Engine'),
      h('span', { class: 'muted' }, 'LSM shape per node; a level whose score reaches 1 is due for compaction'),
    ),
    box,
  );
  const stop = poll(2000, async () => {
    let c: ClusterStatus;
    try {
      c = await getJson<ClusterStatus>('/cluster');
    } catch (e) {
      fill(box, errorBox(e));
      return;
    }
    const cards = await Promise.all(
      c.nodes.map(async (n) => {
        try {
          const s = await getJson<NodeStats>(`/stats?node=${encodeURIComponent(n.id)}`);
          const e = s.engine;
          return h(
            'section',
            { class: 'card', 'data-test': 'engine-node', 'data-node': n.id },
            h('h3', {}, n.id),
            drawLsm(s),
            h(
              'dl',
              { class: 'kv' },
              h('dt', {}, 'Write amplification'),
              h('dd', {}, fmtNum(e.writeAmplification)),
              h('dt', {}, 'Flushes / compactions'),
              h('dd', {}, `${fmtNum(e.flushes)} / ${fmtNum(e.compactions)}`),
              h('dt', {}, 'Write stalls'),
              h('dd', {}, `${fmtNum(e.stallMs)} ms`),
              h('dt', {}, 'Block cache'),
              h(
                'dd',
                {},
                `${fmtBytes(e.blockCacheBytes)} of ${fmtBytes(e.blockCacheCapacity)}, hit rate ${fmtNum((e.blockCacheHitRate ?? 0) * 100, 1)} %`,
              ),
              h('dt', {}, 'Last sequence'),
              h('dd', {}, fmtNum(e.lastSequence)),
            ),
          );
        } catch (e) {
          return h('section', { class: 'card', 'data-node': n.id }, h('h3', {}, n.id), errorBox(e));
        }
      }),
    );
    fill(box, cards);
  });
  return stop;
};

// Cluster: the nodes (status, role, version, uptime, disk, memory), the partitions as a grid (leader,
// followers, in-sync set, epoch, LSN, lag), updated every second, and the changes seen between two
// readings — nodes going down or up, leaders changing (failovers), replicas moving — as events.

import { ApiError, getJson, type ClusterStatus, type NodeStats } from '../api.js';
import { errorBox, fill, fmtBytes, fmtDuration, fmtNum, fmtTime, h } from '../dom.js';
import type { Page } from '../main.js';
import { poll } from '../poll.js';

interface ClusterEvent {
  t: number;
  kind: 'node' | 'failover' | 'move' | 'isr' | 'epoch';
  text: string;
}

// Kept for the tab (sessionStorage), so leaving the page or reloading keeps the history.
const EVENTS_KEY = 'eau2.events';
const events: ClusterEvent[] = ((): ClusterEvent[] => {
  try {
    const v = JSON.parse(sessionStorage.getItem(EVENTS_KEY) ?? '[]') as unknown;
    return Array.isArray(v) ? (v as ClusterEvent[]).slice(0, 200) : [];
  } catch {
    return [];
  }
})();
let last: ClusterStatus | undefined;
const reach = new Map<string, boolean>();

function addEvent(kind: ClusterEvent['kind'], text: string): void {
  events.unshift({ t: Date.now(), kind, text });
  events.length = Math.min(events.length, 200);
  sessionStorage.setItem(EVENTS_KEY, JSON.stringify(events));
}

/** The events between two readings of /cluster. */
function diff(a: ClusterStatus, b: ClusterStatus): void {
  if (a.epoch !== b.epoch) addEvent('epoch', `cluster epoch ${a.epoch} → ${b.epoch}`);
  for (const n of b.nodes) {
    const was = a.nodes.find((x) => x.id === n.id);
    if (!was) addEvent('node', `node ${n.id} joined (${n.status})`);
    else if (was.status !== n.status) addEvent('node', `node ${n.id} ${was.status} → ${n.status}`);
  }
  for (const p of b.partitions) {
    const q = a.partitions.find((x) => x.partition === p.partition);
    if (!q) continue;
    const epoch = p.epoch !== undefined ? ` (epoch ${p.epoch})` : '';
    if (q.leader !== p.leader) addEvent('failover', `P${p.partition}: leader ${q.leader} → ${p.leader}${epoch}`);
    const fa = q.followers.map((f) => f.id).join(', ');
    const fb = p.followers.map((f) => f.id).join(', ');
    if (fa !== fb && q.leader === p.leader) addEvent('move', `P${p.partition}: followers [${fa}] → [${fb}]`);
    const ia = (q.isr ?? []).join(', ');
    const ib = (p.isr ?? []).join(', ');
    if (q.isr && p.isr && ia !== ib) addEvent('isr', `P${p.partition}: in-sync [${ia}] → [${ib}]`);
  }
}

function nodeStatus(c: ClusterStatus, id: string, stats: NodeStats | undefined): string {
  const n = c.nodes.find((x) => x.id === id)!;
  if (reach.get(id) === false) return n.status === 'up' ? 'unreachable' : 'down';
  if (n.status === 'up' && stats && stats.health.status !== 'ok') return stats.health.status;
  return n.status;
}

export const clusterPage: Page = ({ root }) => {
  const nodesBox = h('section', { class: 'card' });
  const gridBox = h('section', { class: 'card' });
  const eventsBox = h('section', { class: 'card' });
  const summary = h('div', { class: 'summary', 'data-test': 'summary' });
  fill(
    root,
    h('div', { class: 'page-head' }, h('h2', {}, 'Cluster'), summary),
    nodesBox,
    h('div', { class: 'split' }, gridBox, eventsBox),
  );
  const stats = new Map<string, NodeStats>();

  const draw = (c: ClusterStatus): void => {
    const down = c.nodes.filter((n) => !['up', 'ok'].includes(nodeStatus(c, n.id, stats.get(n.id)))).length;
    fill(
      summary,
      h('span', { class: 'stat' }, h('b', { 'data-test': 'node-count' }, c.nodes.length), ' nodes'),
      h('span', { class: 'stat' }, h('b', { 'data-test': 'partition-count' }, c.partitionCount), ' partitions'),
      h('span', { class: 'stat' }, h('b', {}, c.replicationFactor), ' replicas each'),
      h('span', { class: 'stat' }, 'epoch ', h('b', {}, c.epoch)),
      down > 0 ? h('span', { class: 'badge bad' }, `${down} node${down > 1 ? 's' : ''} down`) : null,
    );
    fill(
      nodesBox,
      h('h3', {}, 'Nodes'),
      h(
        'table',
        { class: 'grid', 'data-test': 'nodes' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            [
              'Node',
              'Status',
              'Role',
              'Version',
              'Uptime',
              'Tables on disk',
              'Disk free',
              'Memory (RSS)',
              'Address',
            ].map((x) => h('th', {}, x)),
          ),
        ),
        h(
          'tbody',
          {},
          c.nodes.map((n) => {
            const s = stats.get(n.id);
            const status = nodeStatus(c, n.id, s);
            const leads = c.partitions.filter((p) => p.leader === n.id).length;
            const follows = c.partitions.filter((p) => p.followers.some((f) => f.id === n.id)).length;
            const live = reach.get(n.id) !== false;
            return h(
              'tr',
              { 'data-test': 'node-row', 'data-node': n.id, 'data-status': status },
              h('td', {}, h('b', {}, n.id), n.id === c.self ? h('span', { class: 'muted' }, ' (this node)') : null),
              h('td', {}, h('span', { class: `badge ${statusClass(status)}` }, status)),
              h(
                'td',
                {},
                c.coordinator === n.id ? h('span', { class: 'badge' }, 'coordinator') : null,
                ` leads ${leads} · follows ${follows}`,
              ),
              h('td', {}, live ? (s?.version ?? '…') : '–'),
              h('td', {}, live ? fmtDuration(s?.uptimeSeconds) : '–'),
              h('td', {}, live ? fmtBytes(s?.disk.tablesBytes) : '–'),
              h('td', { class: s?.disk.low ? 'warn-text' : '' }, live ? fmtBytes(s?.disk.freeBytes) : '–'),
              h('td', {}, live ? fmtBytes(s?.memory.rss) : '–'),
              h('td', {}, h('a', { href: `${n.address}/ui/` }, n.address)),
            );
          }),
        ),
      ),
    );
    const isDown = (id: string): boolean => !['up', 'ok', 'unknown'].includes(nodeStatus(c, id, stats.get(id)));
    fill(
      gridBox,
      h('h3', {}, 'Partitions'),
      h(
        'div',
        { class: 'pgrid', 'data-test': 'partitions' },
        c.partitions.map((p) => {
          const lagging = p.followers.some((f) => (f.lag ?? 0) > 0 || f.lsn === null);
          const outOfSync = p.isr !== undefined && p.followers.some((f) => !p.isr!.includes(f.id));
          const cls = isDown(p.leader) ? 'bad' : lagging || outOfSync ? 'warn' : 'ok';
          return h(
            'div',
            {
              class: `pcell ${cls}`,
              'data-test': 'partition-cell',
              'data-partition': p.partition,
              'data-leader': p.leader,
              'data-epoch': p.epoch ?? c.epoch,
            },
            h(
              'div',
              { class: 'phead' },
              h('b', {}, `P${p.partition}`),
              h('span', { class: 'muted' }, `epoch ${p.epoch ?? c.epoch}`),
            ),
            h('div', {}, '★ ', h('b', {}, p.leader), h('span', { class: 'muted' }, ` lsn ${fmtNum(p.lsn)}`)),
            p.followers.map((f) =>
              h(
                'div',
                { class: 'follower' },
                `↳ ${f.id} `,
                h(
                  'span',
                  { class: (f.lag ?? 0) > 0 ? 'warn-text' : 'muted' },
                  f.lag === null ? 'lag ?' : `lag ${fmtNum(f.lag)}`,
                  f.lagSeconds ? ` (${fmtNum(f.lagSeconds, 1)} s)` : '',
                ),
                p.isr && !p.isr.includes(f.id) ? h('span', { class: 'badge warn' }, f.state ?? 'out of sync') : null,
              ),
            ),
            p.isr ? h('div', { class: 'muted small' }, `in-sync: ${p.isr.join(', ')}`) : null,
          );
        }),
      ),
    );
    fill(
      eventsBox,
      h('h3', {}, 'Events'),
      events.length === 0
        ? h('p', { class: 'muted' }, 'No changes seen yet in this tab.')
        : h(
            'ul',
            { class: 'events', 'data-test': 'events' },
            events.map((e) =>
              h('li', { class: `ev-${e.kind}` }, h('span', { class: 'muted' }, fmtTime(e.t)), ` ${e.text}`),
            ),
          ),
    );
  };

  let current: ClusterStatus | undefined;
  const stopCluster = poll(1000, async () => {
    try {
      const c = await getJson<ClusterStatus>('/cluster');
      if (last) diff(last, c);
      last = c;
      current = c;
      draw(c);
    } catch (e) {
      fill(nodesBox, h('h3', {}, 'Nodes'), errorBox(e));
    }
  });
  const stopStats = poll(1000, async () => {
    if (!current) return;
    await Promise.all(
      current.nodes.map(async (n) => {
        try {
          stats.set(n.id, await getJson<NodeStats>(`/stats?node=${encodeURIComponent(n.id)}`));
          if (reach.get(n.id) === false) addEvent('node', `node ${n.id} answers again`);
          reach.set(n.id, true);
        } catch (e) {
          if (e instanceof ApiError && e.status !== 503) return;
          if (reach.get(n.id) !== false) addEvent('node', `node ${n.id} does not answer`);
          reach.set(n.id, false);
          stats.delete(n.id);
        }
      }),
    );
    if (current) draw(current);
  });
  return () => {
    stopCluster();
    stopStats();
  };
};

function statusClass(s: string): string {
  if (s === 'up' || s === 'ok') return 'ok';
  if (s === 'unknown' || s === 'degraded') return 'warn';
  return 'bad';
}

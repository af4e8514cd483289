// Metrics: a node's own recent history (GET /stats/series, sampled by the node every couple of
// seconds) as plots — requests per second and p50/p99 latency per route, replication lag of the
// partitions it leads, and its engine's write amplification, compactions, stalls, block-cache hit
// rate and memtable size.

import { getJson, type ClusterStatus, type Series } from '../api.js';
import { lineChart, type LineChart } from '../charts.js';
import { errorBox, fill, fmtBytes, fmtNum, h } from '../dom.js';
import type { Page } from '../main.js';
import { poll } from '../poll.js';

let chosen: string | undefined;

export const metricsPage: Page = ({ root, who }) => {
  const select = h('select', { 'data-test': 'metrics-node' });
  const note = h('span', { class: 'muted' });
  const err = h('div');
  const ms = (v: number): string => `${fmtNum(v, 2)} ms`;
  const charts: Record<string, LineChart> = {
    rps: lineChart('Requests per second, by route', (v) => fmtNum(v, 1)),
    p50: lineChart('p50 latency, by route', ms),
    p99: lineChart('p99 latency, by route', ms),
    lag: lineChart('Replication lag (entries), led partitions', (v) => fmtNum(v, 0)),
    lagS: lineChart('Replication lag (seconds), led partitions', (v) => `${fmtNum(v, 2)} s`),
    wamp: lineChart('Write amplification', (v) => fmtNum(v, 2)),
    comp: lineChart('Compactions per interval', (v) => fmtNum(v, 0)),
    stall: lineChart('Write stalls (ms per interval)', (v) => fmtNum(v, 0)),
    hit: lineChart('Block-cache hit rate', (v) => `${fmtNum(v * 100, 1)} %`),
    mem: lineChart('Memtable size', fmtBytes),
  };
  fill(
    root,
    h('div', { class: 'page-head' }, h('h2', {}, 'Metrics'), h('label', {}, 'Node ', select), note),
    err,
    h(
      'div',
      { class: 'charts' },
      Object.values(charts).map((c) => c.el),
    ),
  );
  select.addEventListener('change', () => {
    chosen = select.value;
    void refresh();
  });
  let nodes: string[] = [];
  const refresh = async (): Promise<void> => {
    if (nodes.length === 0) {
      const c = await getJson<ClusterStatus>('/cluster');
      nodes = c.nodes.map((n) => n.id);
      chosen ??= who.node;
      fill(
        select,
        nodes.map((n) => h('option', { value: n, selected: n === chosen }, n)),
      );
    }
    const node = chosen ?? who.node;
    try {
      const s = await getJson<Series>(`/stats/series?node=${encodeURIComponent(node)}`);
      fill(err);
      fill(note, `one sample every ${s.intervalMs / 1000} s, ${s.t.length} samples`);
      const routes = Object.entries(s.routes).filter(([, r]) => r.rps.some((x) => x > 0));
      charts.rps!.update(
        s.t,
        routes.map(([k, r]) => ({ label: k, values: r.rps })),
      );
      charts.p50!.update(
        s.t,
        routes.map(([k, r]) => ({ label: k, values: r.p50 })),
      );
      charts.p99!.update(
        s.t,
        routes.map(([k, r]) => ({ label: k, values: r.p99 })),
      );
      const lags = Object.entries(s.lag).slice(0, 16);
      charts.lag!.update(
        s.t,
        lags.map(([p, l]) => ({ label: `P${p}`, values: l.entries })),
      );
      charts.lagS!.update(
        s.t,
        lags.map(([p, l]) => ({ label: `P${p}`, values: l.seconds })),
      );
      const e = (k: string, label: string) => [{ label, values: s.engine[k] ?? [] }];
      charts.wamp!.update(s.t, e('writeAmplification', 'write amp'));
      charts.comp!.update(s.t, e('compactions', 'compactions'));
      charts.stall!.update(s.t, e('stallMs', 'stall ms'));
      charts.hit!.update(s.t, e('blockCacheHitRate', 'hit rate'));
      charts.mem!.update(s.t, e('memtableBytes', 'memtable'));
    } catch (e) {
      fill(err, errorBox(e));
    }
  };
  const stop = poll(2000, refresh);
  return () => {
    stop();
    for (const c of Object.values(charts)) c.destroy();
  };
};

// Time-series plots with uPlot, coloured from the page's theme (CSS variables), resized with their box.

import uPlot from 'uplot';

const PALETTE = ['#2f7de1', '#e8663d', '#2ca58d', '#c4458c', '#8e6bd8', '#d8a31a', '#5b8c2a', '#888888'];

export function color(i: number): string {
  return PALETTE[i % PALETTE.length]!;
}

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}

export interface LineChart {
  el: HTMLElement;
  /** New data; a different set of series rebuilds the plot. */
  update(t: number[], series: { label: string; values: (number | null)[] }[]): void;
  destroy(): void;
}

/** A line chart titled `title`, values formatted by `fmt`, in a box that fills its grid cell. */
export function lineChart(title: string, fmt: (v: number) => string = (v) => String(v)): LineChart {
  const el = document.createElement('div');
  el.className = 'chart';
  el.dataset.test = 'chart';
  el.dataset.title = title;
  const head = document.createElement('h4');
  head.textContent = title;
  const box = document.createElement('div');
  const empty = document.createElement('div');
  empty.className = 'muted empty';
  empty.textContent = 'no samples yet';
  el.append(head, box, empty);
  let plot: uPlot | undefined;
  let labels = '';
  const width = (): number => Math.max(240, box.clientWidth || el.clientWidth || 400);
  const ro = new ResizeObserver(() => plot?.setSize({ width: width(), height: 180 }));
  ro.observe(el);
  return {
    el,
    update(t, series) {
      empty.style.display = t.length === 0 || series.length === 0 ? '' : 'none';
      const data = [t.map((x) => x / 1000), ...series.map((s) => s.values)] as uPlot.AlignedData;
      const key = series.map((s) => s.label).join('\u0000');
      if (plot && key === labels) {
        plot.setData(data);
        return;
      }
      plot?.destroy();
      labels = key;
      const axis = { stroke: cssVar('--muted'), grid: { stroke: cssVar('--grid'), width: 1 }, ticks: { show: false } };
      plot = new uPlot(
        {
          width: width(),
          height: 180,
          legend: { show: true, live: false },
          cursor: { show: true, drag: { x: false, y: false } },
          scales: { x: { time: true } },
          axes: [axis, { ...axis, size: 60, values: (_u, vals) => vals.map((v) => (v === null ? '' : fmt(v))) }],
          series: [
            {},
            ...series.map((s, i) => ({
              label: s.label,
              stroke: color(i),
              width: 1.5,
              spanGaps: false,
              points: { show: false },
              value: (_u: uPlot, v: number | null) => (v === null ? '–' : fmt(v)),
            })),
          ],
        },
        data,
        box,
      );
    },
    destroy() {
      ro.disconnect();
      plot?.destroy();
    },
  };
}

// Grouped horizontal bar charts as plain SVG, for benchmark results a person can open in a browser
// or an image viewer. Hand-written rather than a charting library: the chart is ~150 lines, needs
// no DOM, and the output is a static file with only <rect>, <text> and <line>, which every SVG
// renderer (browsers, librsvg, GitHub's preview) draws the same way.

interface Series {
  name: string;
  /** Any SVG colour; defaults come from PALETTE in series order. */
  color?: string;
}

interface Bar {
  series: string;
  /** Missing or non-finite values draw no bar and print "n/a". */
  value: number | null | undefined;
  /** Text printed after the bar; defaults to the value. */
  label?: string;
}

interface BarGroup {
  label: string;
  bars: Bar[];
}

export interface BarChartSpec {
  title: string;
  /** One or more lines, separated by "\n". */
  subtitle?: string;
  /** Axis caption, e.g. "ops/s (higher is better)". */
  unit: string;
  series: Series[];
  groups: BarGroup[];
  width?: number;
}

/** Colour-blind-safe (Okabe-Ito) colours, in series order. */
const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442'];

const BAR_H = 16;
const BAR_GAP = 3;
const GROUP_GAP = 14;
const LABEL_W = 150;
const VALUE_W = 110;
const FONT = 'font-family="Helvetica, Arial, sans-serif"';

export interface Panel {
  /** SVG elements positioned from (0, 0). */
  body: string;
  width: number;
  height: number;
}

/** One chart as a panel, so several can be stacked into one file with stackPanels(). */
export function barChartPanel(spec: BarChartSpec): Panel {
  const width = spec.width ?? 760;
  const plotW = width - LABEL_W - VALUE_W - 20;
  const colors = new Map(spec.series.map((s, i) => [s.name, s.color ?? PALETTE[i % PALETTE.length]!]));
  const max = Math.max(0, ...spec.groups.flatMap((g) => g.bars.map((b) => finite(b.value) ?? 0)));
  const scale = max > 0 ? plotW / niceCeil(max) : 0;
  const out: string[] = [];
  let y = 8;
  out.push(text(10, y + 14, spec.title, 'font-size="15" font-weight="bold"'));
  y += 20;
  // Subtitle lines are separated by "\n" (SVG 1.1 text does not wrap by itself).
  for (const line of spec.subtitle?.split('\n') ?? []) {
    out.push(text(10, y + 12, line, 'font-size="11" fill="#555"'));
    y += 16;
  }
  // Legend on one line.
  let lx = 10;
  y += 6;
  for (const s of spec.series) {
    out.push(`<rect x="${lx}" y="${y}" width="12" height="12" fill="${colors.get(s.name)}"/>`);
    out.push(text(lx + 16, y + 10, s.name, 'font-size="11"'));
    lx += 28 + s.name.length * 7;
  }
  y += 22;
  const plotTop = y;
  for (const g of spec.groups) {
    const groupH = g.bars.length * (BAR_H + BAR_GAP) - BAR_GAP;
    out.push(text(LABEL_W - 8, y + groupH / 2 + 4, g.label, 'font-size="12" text-anchor="end"'));
    for (const b of g.bars) {
      const v = finite(b.value);
      const w = v === undefined ? 0 : Math.max(1, v * scale);
      if (v !== undefined) {
        out.push(
          `<rect x="${LABEL_W}" y="${y}" width="${w.toFixed(1)}" height="${BAR_H}" fill="${colors.get(b.series) ?? '#999'}"><title>${esc(`${b.series}: ${b.label ?? v}`)}</title></rect>`,
        );
      }
      const label = v === undefined ? 'n/a' : (b.label ?? String(v));
      out.push(text(LABEL_W + w + 4, y + BAR_H - 4, label, 'font-size="11" fill="#222"'));
      y += BAR_H + BAR_GAP;
    }
    y += GROUP_GAP - BAR_GAP;
  }
  // Axis line and caption under the plot.
  out.push(`<line x1="${LABEL_W}" y1="${plotTop - 4}" x2="${LABEL_W}" y2="${y - GROUP_GAP + 4}" stroke="#444"/>`);
  out.push(text(LABEL_W, y + 6, spec.unit, 'font-size="11" fill="#555"'));
  return { body: out.join('\n'), width, height: y + 16 };
}

/** Wraps one panel into a standalone SVG document. */
export function barChartSvg(spec: BarChartSpec): string {
  return stackPanels([barChartPanel(spec)]);
}

/** Several panels one under the other, in one standalone SVG document. */
export function stackPanels(panels: readonly Panel[]): string {
  const width = Math.max(0, ...panels.map((p) => p.width));
  let y = 0;
  const parts: string[] = [];
  for (const p of panels) {
    parts.push(`<g transform="translate(0 ${y})">\n${p.body}\n</g>`);
    y += p.height;
  }
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    ...parts,
    `</svg>`,
    '',
  ].join('\n');
}

function text(x: number, y: number, s: string, attrs: string): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${FONT} ${attrs}>${esc(s)}</text>`;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function finite(v: number | null | undefined): number | undefined {
  return v !== null && v !== undefined && Number.isFinite(v) && v >= 0 ? v : undefined;
}

/** Rounds the axis maximum up to 1, 2 or 5 x 10^k so bars keep room for their labels. */
function niceCeil(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

// Dataframes: the stored frames with their schema and size, where their row-chunks live, a paged
// preview of the rows, and a query builder (filter, group by, aggregate) whose query runs on the nodes
// holding the chunks; the result is shown as a table and a bar chart, with the time it took.

import { getJson } from '../api.js';
import { color } from '../charts.js';
import { errorBox, fill, fmtBytes, fmtNum, h } from '../dom.js';
import type { Page } from '../main.js';

interface FrameInfo {
  name: string;
  version: string;
  schema: string;
  columns: { name: string; type: string }[];
  nrows: number;
  ncols: number;
  chunkRows: number;
  nchunks: number;
  created: string;
}

interface Placement {
  bytes: number;
  nodes: Record<string, { chunks: number; bytes: number }>;
  chunks: { chunk: number; rows: number; partition: number; leader: string; followers: string[]; bytes: number }[];
}

type Value = string | number | boolean | null;

interface Rows {
  nrows: number;
  offset: number;
  columns: { name: string; type: string }[];
  rows: Value[][];
}

interface QueryResult {
  ms: number;
  columns: { name: string; type: string }[];
  rows: Value[][];
  nrows: number;
  truncated: boolean;
}

const TYPE_NAMES: Record<string, string> = { I: 'int', D: 'double', B: 'bool', S: 'string' };
const ROWS_PAGE = 20;

/** A number as data (no thousands separators: years and ids read as they are stored). */
function fmtValue(v: number): string {
  return v.toLocaleString('en-US', { maximumFractionDigits: 6, useGrouping: false });
}

function table(columns: { name: string; type: string }[], rows: Value[][], test: string): HTMLElement {
  return h(
    'div',
    { class: 'scroll' },
    h(
      'table',
      { class: 'grid', 'data-test': test },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          columns.map((c) =>
            h('th', {}, c.name, h('span', { class: 'muted small' }, ` ${TYPE_NAMES[c.type] ?? c.type}`)),
          ),
        ),
      ),
      h(
        'tbody',
        {},
        rows.map((r) =>
          h(
            'tr',
            {},
            r.map((v, i) =>
              h(
                'td',
                { class: columns[i]?.type === 'S' ? '' : 'num' },
                v === null ? h('span', { class: 'muted' }, 'null') : typeof v === 'number' ? fmtValue(v) : String(v),
              ),
            ),
          ),
        ),
      ),
    ),
  );
}

/** Bars of the first numeric result column against the row labels (the group keys). */
function barChart(r: QueryResult): HTMLElement | null {
  const numeric = r.columns.findIndex((c, i) => (c.type === 'I' || c.type === 'D') && i > 0);
  const labelCol = r.columns.findIndex((c) => c.type === 'S' || c.type === 'I' || c.type === 'B');
  if (numeric < 0 || labelCol < 0 || labelCol === numeric || r.rows.length === 0) return null;
  const rows = r.rows.slice(0, 30);
  const vals = rows.map((row) => Number(row[numeric] ?? 0));
  const max = Math.max(1e-300, ...vals.map((v) => Math.abs(v)));
  return h(
    'div',
    { class: 'bars', 'data-test': 'result-chart' },
    h('h4', {}, `${r.columns[numeric]!.name} by ${r.columns[labelCol]!.name}`),
    rows.map((row, i) =>
      h(
        'div',
        { class: 'bar-row' },
        h('span', { class: 'bar-label mono' }, String(row[labelCol] ?? 'null')),
        h(
          'span',
          { class: 'bar-track' },
          h('span', {
            class: 'bar',
            style: `width:${(Math.abs(vals[i]!) / max) * 100}%;background:${color(0)}`,
          }),
        ),
        h('span', { class: 'bar-val' }, fmtNum(vals[i]!, 3)),
      ),
    ),
    r.rows.length > rows.length ? h('p', { class: 'muted' }, `first ${rows.length} of ${r.rows.length} groups`) : null,
  );
}

function frameView(f: FrameInfo, box: HTMLElement): void {
  const placeBox = h(
    'section',
    { class: 'card' },
    h('h3', {}, 'Chunk placement'),
    h('p', { class: 'muted' }, 'Loading…'),
  );
  const rowsBox = h('section', { class: 'card' });
  const queryBox = h('section', { class: 'card' });
  const enc = encodeURIComponent(f.name);
  fill(
    box,
    h(
      'section',
      { class: 'card' },
      h('h3', { 'data-test': 'frame-name' }, f.name),
      h(
        'p',
        { class: 'muted' },
        `${fmtNum(f.nrows)} rows × ${f.ncols} columns · ${f.nchunks} chunks of ${fmtNum(f.chunkRows)} rows · version ${f.version} · ${f.created}`,
      ),
      h(
        'table',
        { class: 'grid narrow', 'data-test': 'schema' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Column'), h('th', {}, 'Type'))),
        h(
          'tbody',
          {},
          f.columns.map((c) =>
            h('tr', {}, h('td', { class: 'mono' }, c.name), h('td', {}, TYPE_NAMES[c.type] ?? c.type)),
          ),
        ),
      ),
    ),
    placeBox,
    rowsBox,
    queryBox,
  );

  void getJson<Placement>(`/df/${enc}/placement`).then(
    (p) => {
      const nodes = Object.keys(p.nodes).sort();
      fill(
        placeBox,
        h('h3', {}, 'Chunk placement'),
        h('p', { 'data-test': 'frame-size' }, `${fmtBytes(p.bytes)} stored (one copy), leaders:`),
        h(
          'div',
          { class: 'row' },
          nodes.map((n, i) =>
            h(
              'span',
              { class: 'legend' },
              h('span', { class: 'swatch', style: `background:${color(i)}` }),
              `${n}: ${p.nodes[n]!.chunks} chunks, ${fmtBytes(p.nodes[n]!.bytes)}`,
            ),
          ),
        ),
        h(
          'div',
          { class: 'chunks', 'data-test': 'chunks' },
          p.chunks.map((c) =>
            h('span', {
              class: 'chunk',
              style: `background:${color(nodes.indexOf(c.leader))}`,
              title: `chunk ${c.chunk}: ${c.rows} rows, ${fmtBytes(c.bytes)}, partition ${c.partition}, leader ${c.leader}, followers ${c.followers.join(', ')}`,
            }),
          ),
        ),
      );
    },
    (e) => fill(placeBox, h('h3', {}, 'Chunk placement'), errorBox(e)),
  );

  let offset = 0;
  const loadRows = async (): Promise<void> => {
    try {
      const r = await getJson<Rows>(`/df/${enc}/rows?offset=${offset}&limit=${ROWS_PAGE}`);
      fill(
        rowsBox,
        h('h3', {}, 'Rows'),
        table(r.columns, r.rows, 'rows'),
        h(
          'div',
          { class: 'row' },
          h(
            'button',
            {
              disabled: offset === 0,
              onclick: () => {
                offset = Math.max(0, offset - ROWS_PAGE);
                void loadRows();
              },
            },
            '← Previous',
          ),
          h(
            'span',
            { class: 'muted', 'data-test': 'rows-range' },
            `rows ${fmtNum(Math.min(offset + 1, r.nrows))}–${fmtNum(Math.min(offset + ROWS_PAGE, r.nrows))} of ${fmtNum(r.nrows)}`,
          ),
          h(
            'button',
            {
              disabled: offset + ROWS_PAGE >= r.nrows,
              'data-test': 'rows-next',
              onclick: () => {
                offset += ROWS_PAGE;
                void loadRows();
              },
            },
            'Next →',
          ),
        ),
      );
    } catch (e) {
      fill(rowsBox, h('h3', {}, 'Rows'), errorBox(e));
    }
  };
  void loadRows();
  queryBuilder(f, queryBox);
}

function queryBuilder(f: FrameInfo, box: HTMLElement): void {
  const colOptions = (withStar: boolean) => [
    ...(withStar ? [h('option', { value: '*' }, '* (rows)')] : []),
    ...f.columns.map((c) => h('option', { value: c.name }, c.name)),
  ];
  const filters = h('div', { class: 'stack' });
  const aggs = h('div', { class: 'stack' });
  const groups = h(
    'div',
    { class: 'row wrap', 'data-test': 'group-by' },
    f.columns.map((c) =>
      h('label', { class: 'check' }, h('input', { type: 'checkbox', value: c.name, 'data-col': c.name }), ` ${c.name}`),
    ),
  );
  const addFilter = (): void => {
    const row: HTMLElement = h(
      'div',
      { class: 'row', 'data-test': 'filter-row' },
      h('select', { class: 'f-col' }, colOptions(false)),
      h(
        'select',
        { class: 'f-op' },
        [
          ['eq', '='],
          ['ne', '≠'],
          ['lt', '<'],
          ['le', '≤'],
          ['gt', '>'],
          ['ge', '≥'],
          ['isNull', 'is null'],
          ['notNull', 'is not null'],
        ].map(([v, t]) => h('option', { value: v! }, t!)),
      ),
      h('input', { class: 'f-val', placeholder: 'value' }),
      h('button', { type: 'button', onclick: () => row.remove() }, '✕'),
    );
    filters.append(row);
  };
  const addAgg = (colName = '*', fn = 'count'): void => {
    const colSel = h('select', { class: 'a-col' }, colOptions(true));
    colSel.value = colName;
    const fnSel = h(
      'select',
      { class: 'a-fn' },
      ['count', 'sum', 'mean', 'min', 'max'].map((x) => h('option', { value: x }, x)),
    );
    fnSel.value = fn;
    const row: HTMLElement = h(
      'div',
      { class: 'row', 'data-test': 'agg-row' },
      fnSel,
      h('span', {}, 'of'),
      colSel,
      h('button', { type: 'button', onclick: () => row.remove() }, '✕'),
    );
    aggs.append(row);
  };
  const result = h('div', { 'data-test': 'result' });
  const run = async (): Promise<void> => {
    const q = {
      filter: [...filters.querySelectorAll('[data-test="filter-row"]')].map((r) => ({
        col: (r.querySelector('.f-col') as HTMLSelectElement).value,
        op: (r.querySelector('.f-op') as HTMLSelectElement).value,
        value: (r.querySelector('.f-val') as HTMLInputElement).value,
      })),
      groupBy: [...groups.querySelectorAll('input:checked')].map((i) => (i as HTMLInputElement).value),
      aggs: [...aggs.querySelectorAll('[data-test="agg-row"]')].map((r) => ({
        col: (r.querySelector('.a-col') as HTMLSelectElement).value,
        fn: (r.querySelector('.a-fn') as HTMLSelectElement).value,
      })),
    };
    fill(result, h('p', { class: 'muted' }, 'Running on the nodes…'));
    try {
      const r = await getJson<QueryResult>(
        `/df/${encodeURIComponent(f.name)}/query?q=${encodeURIComponent(JSON.stringify(q))}`,
      );
      fill(
        result,
        h(
          'p',
          { 'data-test': 'timing' },
          `${fmtNum(r.nrows)} row${r.nrows === 1 ? '' : 's'} in ${fmtNum(r.ms, 1)} ms`,
          r.truncated ? ` (first ${r.rows.length} shown)` : '',
        ),
        h('div', { class: 'split' }, table(r.columns, r.rows, 'result-table'), barChart(r)),
      );
    } catch (e) {
      fill(result, errorBox(e));
    }
  };
  fill(
    box,
    h('h3', {}, 'Query'),
    h(
      'div',
      { class: 'qb' },
      h('b', {}, 'Filter (all must hold)'),
      filters,
      h('button', { type: 'button', onclick: addFilter, 'data-test': 'add-filter' }, '+ condition'),
    ),
    h('div', { class: 'qb' }, h('b', {}, 'Group by'), groups),
    h(
      'div',
      { class: 'qb' },
      h('b', {}, 'Aggregates'),
      aggs,
      h('button', { type: 'button', onclick: () => addAgg(), 'data-test': 'add-agg' }, '+ aggregate'),
    ),
    h(
      'div',
      { class: 'row' },
      h('button', { class: 'primary', onclick: () => void run(), 'data-test': 'run-query' }, 'Run on the nodes'),
    ),
    result,
  );
}

export const dataframesPage: Page = ({ root }) => {
  const listBox = h('section', { class: 'card' });
  const detail = h('div', { class: 'stack' });
  fill(
    root,
    h('div', { class: 'page-head' }, h('h2', {}, 'Dataframes')),
    h('div', { class: 'split wide-right' }, listBox, detail),
  );
  const selected = decodeURIComponent(location.hash.split('/')[2] ?? '');
  void getJson<{ frames: FrameInfo[] }>('/df').then(
    ({ frames }) => {
      const open = (f: FrameInfo): void => {
        history.replaceState(null, '', `#/dataframes/${encodeURIComponent(f.name)}`);
        for (const tr of listBox.querySelectorAll('tr')) tr.classList.toggle('selected', tr.dataset.frame === f.name);
        frameView(f, detail);
      };
      fill(
        listBox,
        h('h3', {}, 'Frames'),
        frames.length === 0
          ? h('p', { class: 'muted' }, 'No frames yet: ', h('code', {}, 'eau2 df import NAME file.csv'))
          : h(
              'table',
              { class: 'grid', 'data-test': 'frames' },
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  ['Name', 'Rows', 'Cols', 'Chunks', 'Schema'].map((x) => h('th', {}, x)),
                ),
              ),
              h(
                'tbody',
                {},
                frames.map((f) =>
                  h(
                    'tr',
                    { 'data-test': 'frame-row', 'data-frame': f.name, onclick: () => open(f) },
                    h('td', { class: 'mono' }, f.name),
                    h('td', { class: 'num' }, fmtNum(f.nrows)),
                    h('td', { class: 'num' }, f.ncols),
                    h('td', { class: 'num' }, f.nchunks),
                    h('td', { class: 'mono small' }, f.schema),
                  ),
                ),
              ),
            ),
      );
      const pre = frames.find((f) => f.name === selected);
      if (pre) open(pre);
    },
    (e) => fill(listBox, errorBox(e)),
  );
  return () => {};
};

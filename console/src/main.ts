// The eau2 web console: a page per concern (cluster, metrics, engine, keys, dataframes) chosen by the
// URL's hash, a light/dark theme, and, on a cluster with `auth`, a token prompt and a role that hides
// what the token may not do. Everything it reads comes from the node that served it (docs/api.md).

import { ApiError, getJson, setToken, setUnauthenticatedHandler, token, type Whoami } from './api.js';
import { errorBox, fill, h } from './dom.js';
import { clusterPage } from './pages/cluster.js';
import { dataframesPage } from './pages/dataframes.js';
import { enginePage } from './pages/engine.js';
import { keysPage } from './pages/keys.js';
import { metricsPage } from './pages/metrics.js';

/** What a page gets: where to draw, and what the caller may do. */
export interface PageContext {
  root: HTMLElement;
  who: Whoami;
}
/** A page draws itself into ctx.root and returns what stops its timers and charts. */
export type Page = (ctx: PageContext) => () => void;

const PAGES: { id: string; title: string; page: Page }[] = [
  { id: 'cluster', title: 'Cluster', page: clusterPage },
  { id: 'metrics', title: 'Metrics', page: metricsPage },
  { id: 'engine', title: 'Engine', page: enginePage },
  { id: 'keys', title: 'Keys', page: keysPage },
  { id: 'dataframes', title: 'Dataframes', page: dataframesPage },
];

const THEME_KEY = 'eau2.theme';

function theme(): 'light' | 'dark' {
  const saved = localStorage.getItem(THEME_KEY);
  if (saved === 'light' || saved === 'dark') return saved;
  return window.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

function applyTheme(): void {
  document.documentElement.dataset.theme = theme();
}

let stopPage: (() => void) | undefined;
let who: Whoami | undefined;
const app = document.getElementById('app')!;

function currentId(): string {
  const id = location.hash.replace(/^#\/?/, '').split('/')[0] ?? '';
  return PAGES.some((p) => p.id === id) ? id : 'cluster';
}

function render(): void {
  stopPage?.();
  stopPage = undefined;
  if (!who) return;
  const id = currentId();
  const main = h('main', { id: 'page', 'data-page': id });
  const header = h(
    'header',
    {},
    h('a', { class: 'brand', href: '#/cluster' }, h('img', { src: 'favicon.svg', alt: '' }), 'eau2'),
    h('span', { class: 'muted', 'data-test': 'self' }, who.node),
    h(
      'nav',
      {},
      PAGES.map((p) =>
        h('a', { href: `#/${p.id}`, class: p.id === id ? 'active' : '', 'data-test': `nav-${p.id}` }, p.title),
      ),
    ),
    h('span', { class: 'spacer' }),
    who.auth
      ? h('span', { class: 'badge', 'data-test': 'role', title: who.name ?? '' }, `${who.name} · ${who.role}`)
      : null,
    who.auth
      ? h(
          'button',
          {
            onclick: () => {
              setToken(null);
              void start();
            },
          },
          'Sign out',
        )
      : null,
    h(
      'button',
      {
        'data-test': 'theme',
        title: 'Light / dark',
        onclick: () => {
          localStorage.setItem(THEME_KEY, theme() === 'dark' ? 'light' : 'dark');
          applyTheme();
          render(); // charts take their colours when drawn
        },
      },
      theme() === 'dark' ? '☀ Light' : '☾ Dark',
    ),
  );
  fill(app, header, main);
  const page = PAGES.find((p) => p.id === id)!;
  document.title = `${page.title} · eau2 console`;
  stopPage = page.page({ root: main, who });
}

function login(message?: string): void {
  stopPage?.();
  stopPage = undefined;
  who = undefined;
  const input = h('input', {
    type: 'password',
    placeholder: 'eau2_…',
    autocomplete: 'off',
    'data-test': 'token',
    size: 60,
  });
  const form = h(
    'form',
    {
      class: 'login',
      onsubmit: (ev: Event) => {
        ev.preventDefault();
        setToken(input.value.trim() || null);
        void start();
      },
    },
    h('h2', {}, 'Sign in to eau2'),
    h('p', {}, 'This cluster requires a token. Paste one (', h('code', {}, 'eau2 token create --role read'), ').'),
    message ? errorBox(message) : null,
    input,
    h('button', { type: 'submit', class: 'primary', 'data-test': 'sign-in' }, 'Sign in'),
  );
  fill(app, form);
  input.focus();
}

async function start(): Promise<void> {
  applyTheme();
  try {
    who = await getJson<Whoami>('/whoami');
    render();
  } catch (e) {
    if (e instanceof ApiError && (e.status === 401 || e.status === 403))
      login(token() ? 'That token was refused.' : undefined);
    else fill(app, errorBox(e));
  }
}

setUnauthenticatedHandler(() => {
  if (who?.auth) login('Your token is no longer accepted.');
});
window.addEventListener('hashchange', render);
void start();

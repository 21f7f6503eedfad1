/// <reference lib="dom" />
/**
 * The web order ticket: a market order on one of the engine's pairs, both venues' quotes side by side, the order's
 * status timeline as its frames arrive, and this session's orders. Everything goes through the client SDK
 * (client/sdk.ts) over the engine's WebSocket, with the browser's own WebSocket and the key in the `apiKey` query
 * parameter (browsers cannot set headers on a WebSocket). Built by infra/web.ts.
 */
import './jitless';
import { connect, EngineConnectionError, EngineRequestError, type EngineClient, type OrderFrame, type QuoteFrame } from '../client/sdk';
import type { WireQuote } from '../lib/routing';
import type { WireRoute } from '../lib/venues/route';

declare const __ENGINE_PAIRS__: Array<{ base: string; quote: string }>;

const $ = <T extends HTMLElement>(id: string): T => {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} missing`);
  return element as T;
};

const el = <K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: Array<Node | string>): HTMLElementTagNameMap[K] => {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  node.append(...children);
  return node;
};

/** What an error code means to a person placing an order (PROTOCOL.md codes; venue and chain failures in words). */
const EXPLAINED: Record<string, string> = {
  VALIDATION_FAILED: 'The order is not valid',
  UNKNOWN_TOKEN: 'The engine does not know that token',
  BAD_REQUEST: 'The request could not be read',
  RATE_LIMITED: 'Too many requests for this account; nothing was placed',
  UNAVAILABLE: 'The engine is over capacity; nothing was placed',
  DUPLICATE_CLIENT_ORDER_ID: 'That client order id was already used for a different order',
  NOT_FOUND: 'No such order for this account',
  FORBIDDEN: 'This connection is not authorised',
  INTERNAL: 'The engine failed on this request',
  NO_ROUTE: 'No venue has a pool for this pair',
  INSUFFICIENT_LIQUIDITY: 'The pools cannot fill an order this large',
  SLIPPAGE_EXCEEDED: 'The price moved beyond your slippage tolerance before the trade landed (the swap program refused it; nothing was spent)',
  BLOCKHASH_EXPIRED: 'The transaction expired before it landed',
  RPC_TIMEOUT: 'The Solana RPC did not answer in time',
  RETRIES_EXHAUSTED: 'Every attempt failed on a transient error',
};

const explain = (code: string, message: string): string => `${EXPLAINED[code] ?? 'The order failed'}: ${message}`;

interface SessionOrder {
  row: HTMLTableRowElement;
  frames: OrderFrame[];
  placedAt: number;
}

const pairs = __ENGINE_PAIRS__;
const wsUrl = document.querySelector<HTMLMetaElement>('meta[name="engine-ws-url"]')?.content ?? '';

const ui = {
  apiKey: $<HTMLInputElement>('apiKey'),
  connect: $<HTMLButtonElement>('connect'),
  connState: $<HTMLSpanElement>('connState'),
  form: $<HTMLFormElement>('ticket'),
  pair: $<HTMLSelectElement>('pair'),
  sideBuy: $<HTMLButtonElement>('sideBuy'),
  sideSell: $<HTMLButtonElement>('sideSell'),
  amount: $<HTMLInputElement>('amount'),
  amountUnit: $<HTMLSpanElement>('amountUnit'),
  slippage: $<HTMLInputElement>('slippage'),
  place: $<HTMLButtonElement>('place'),
  error: $<HTMLDivElement>('error'),
  quotes: $<HTMLTableElement>('quotes'),
  quoteNote: $<HTMLSpanElement>('quoteNote'),
  route: $<HTMLDivElement>('route'),
  timeline: $<HTMLTableElement>('timeline'),
  timelineOrder: $<HTMLSpanElement>('timelineOrder'),
  orders: $<HTMLTableElement>('orders'),
};

let client: EngineClient | undefined;
let side: 'buy' | 'sell' = 'buy';
const session = new Map<string, SessionOrder>();
let shownOrder: SessionOrder | undefined;

for (const pair of pairs) ui.pair.append(el('option', { value: `${pair.base}/${pair.quote}` }, `${pair.base}/${pair.quote}`));

/** The order the form describes: a buy spends the quote token for the base, a sell spends the base for the quote. */
const orderOfForm = (): { side: 'buy' | 'sell'; tokenIn: string; tokenOut: string; amount: string; slippage: number } => {
  const [base = '', quote = ''] = ui.pair.value.split('/');
  const slippageText = ui.slippage.value.trim();
  return {
    side,
    tokenIn: side === 'buy' ? quote : base,
    tokenOut: side === 'buy' ? base : quote,
    amount: ui.amount.value.trim(),
    // The engine validates; a text that is not a number goes as NaN (JSON null) and is refused with its path.
    slippage: slippageText === '' ? 1 : Number(slippageText),
  };
};

const setSide = (next: 'buy' | 'sell'): void => {
  side = next;
  ui.sideBuy.setAttribute('aria-pressed', String(next === 'buy'));
  ui.sideSell.setAttribute('aria-pressed', String(next === 'sell'));
  refreshUnit();
  scheduleQuote();
};

const refreshUnit = (): void => {
  ui.amountUnit.textContent = `(${orderOfForm().tokenIn})`;
};

const showError = (code: string, message: string, details: Array<{ path: string; message: string }> = []): void => {
  ui.error.replaceChildren(
    el('div', {}, el('code', { 'data-code': code }, code), ' ', explain(code, message)),
    ...(details.length > 0 ? [el('ul', {}, ...details.map((d) => el('li', {}, d.path ? `${d.path}: ${d.message}` : d.message)))] : []),
  );
  ui.error.hidden = false;
};

const clearError = (): void => {
  ui.error.hidden = true;
  ui.error.replaceChildren();
};

const showRequestError = (error: unknown): void => {
  if (error instanceof EngineRequestError) {
    const wait = error.retryAfterMs !== undefined ? ` (retry in ${Math.ceil(error.retryAfterMs / 1000)} s)` : '';
    showError(error.code, `${error.frame.message}${wait}`, error.details ?? []);
  } else if (error instanceof EngineConnectionError) {
    showError(error.status === 401 ? 'UNAUTHORIZED' : 'CONNECTION', error.message);
  } else {
    showError('CLIENT', error instanceof Error ? error.message : String(error));
  }
};

const renderQuotes = (quotes: WireQuote[], route: WireRoute | undefined, note: string): void => {
  const body = ui.quotes.tBodies[0] as HTMLTableSectionElement;
  const { tokenIn, tokenOut } = orderOfForm();
  const chosen = new Set((route?.dex ?? '').split('+'));
  body.replaceChildren(
    ...quotes.map((quote) =>
      el(
        'tr',
        { class: chosen.has(quote.dex) ? 'chosen' : '', 'data-dex': quote.dex },
        el('td', {}, quote.dex),
        el('td', {}, `${quote.amountOut} ${tokenOut}`),
        el('td', {}, quote.price),
        el('td', {}, `${quote.feeAmount} ${tokenIn}`),
        el('td', {}, `${quote.priceImpactPct} %`),
        el('td', {}, chosen.has(quote.dex) ? el('span', { class: 'tag' }, 'route') : ''),
      ),
    ),
  );
  ui.quoteNote.textContent = note;
  ui.route.textContent = route
    ? `Route ${route.dex}: ${route.amountIn} ${tokenIn} -> ${route.amountOut} ${tokenOut} at ${route.price}, at least ${route.minAmountOut} ${tokenOut}` +
      (route.legs.length > 1 ? ` (split: ${route.legs.map((leg) => `${leg.percent}% ${leg.dex}`).join(', ')})` : '')
    : '';
};

let quoteTimer: ReturnType<typeof setTimeout> | undefined;
let quoteGeneration = 0;
const scheduleQuote = (): void => {
  if (quoteTimer) clearTimeout(quoteTimer);
  quoteTimer = setTimeout(() => void refreshQuote(), 250);
};

const refreshQuote = async (): Promise<void> => {
  if (!client) return;
  const generation = ++quoteGeneration;
  const order = orderOfForm();
  if (!order.amount) return;
  try {
    const frame: QuoteFrame = await client.quote(order);
    if (generation !== quoteGeneration) return;
    renderQuotes(frame.quotes as WireQuote[], frame.route as WireRoute, `at ${new Date().toLocaleTimeString()}`);
  } catch (error) {
    if (generation !== quoteGeneration) return;
    // Quotes stay visible when one fails; the reason is shown beside them.
    ui.quoteNote.textContent = error instanceof EngineRequestError ? `(${error.code}: ${error.frame.message})` : '(quote failed)';
  }
};

/** One line of the timeline: what a status carries that a person wants to see. */
const detailOf = (frame: OrderFrame): string => {
  const meta = frame.meta as Record<string, unknown>;
  switch (frame.status) {
    case 'pending':
      return meta.lastError ? `retrying after ${(meta.lastError as { code?: string }).code ?? 'an error'}` : 'accepted';
    case 'routing':
      return ((meta.quotes as WireQuote[] | undefined) ?? []).map((q) => `${q.dex} ${q.amountOut}`).join(' | ');
    case 'building': {
      const route = meta.route as WireRoute | undefined;
      return route ? `${route.dex}: out ${route.amountOut}, min ${route.minAmountOut}` : '';
    }
    case 'submitted':
      return `${String(meta.dex)} tx ${String(meta.txHash).slice(0, 12)}…`;
    case 'confirmed':
      return `${String(meta.amountIn)} -> ${String(meta.amountOut)} at ${String(meta.executedPrice)} on ${String(meta.dex)} (slot ${String(meta.slot)})`;
    case 'failed': {
      const error = meta.error as { code: string; message: string } | undefined;
      return error ? `${error.code}: ${explain(error.code, error.message)}` : 'failed';
    }
    default:
      return '';
  }
};

const renderTimeline = (order: SessionOrder): void => {
  if (shownOrder !== order) return;
  const body = ui.timeline.tBodies[0] as HTMLTableSectionElement;
  body.replaceChildren(
    ...order.frames.map((frame) =>
      el(
        'tr',
        { 'data-status': frame.status },
        el('td', {}, String(frame.seq)),
        el('td', { class: `status-${frame.status}` }, frame.status),
        el('td', {}, `+${Math.max(0, Date.parse(frame.at) - order.placedAt)}`),
        el('td', { class: 'mono' }, frame.at.slice(11, 23)),
        el('td', {}, detailOf(frame)),
      ),
    ),
  );
};

const renderOrderRow = (order: SessionOrder, description: { side: string; amount: string }): void => {
  const last = order.frames.at(-1);
  const meta = (last?.meta ?? {}) as Record<string, unknown>;
  const outcome =
    last?.status === 'confirmed'
      ? `${String(meta.amountOut)} at ${String(meta.executedPrice)}`
      : last?.status === 'failed'
        ? ((meta.error as { code?: string } | undefined)?.code ?? 'failed')
        : '';
  order.row.replaceChildren(
    el('td', { class: 'mono' }, last?.orderId ?? '…'),
    el('td', {}, description.side),
    el('td', {}, description.amount),
    el('td', { class: `status-${last?.status ?? 'pending'}` }, last?.status ?? 'sending'),
    el('td', {}, outcome),
  );
};

const place = async (): Promise<void> => {
  if (!client) return;
  clearError();
  const order = orderOfForm();
  const description = { side: `${order.side} ${order.tokenOut}`, amount: `${order.amount} ${order.tokenIn}` };
  const placedAt = Date.now();
  const handle = client.execute(order);
  const entry: SessionOrder = { row: el('tr'), frames: [], placedAt };
  (ui.orders.tBodies[0] as HTMLTableSectionElement).prepend(entry.row);
  renderOrderRow(entry, description);
  shownOrder = entry;
  ui.timelineOrder.textContent = '';
  renderTimeline(entry);
  handle.onFrame((frame) => {
    if (entry.frames.length === 0) {
      session.set(frame.orderId, entry);
      if (shownOrder === entry) ui.timelineOrder.textContent = frame.orderId;
    }
    entry.frames.push(frame);
    renderTimeline(entry);
    renderOrderRow(entry, description);
    if (frame.status === 'routing') renderQuotes((frame.meta.quotes as WireQuote[]) ?? [], undefined, `as routed for ${frame.orderId}`);
    if (frame.status === 'building') renderQuotes((entry.frames.find((f) => f.status === 'routing')?.meta.quotes as WireQuote[]) ?? [], frame.meta.route as WireRoute, `as routed for ${frame.orderId}`);
  });
  try {
    await handle.done;
  } catch (error) {
    // Refused before any frame (validation, limits): nothing was placed; the row says so.
    entry.row.remove();
    if (shownOrder === entry) {
      shownOrder = undefined;
      (ui.timeline.tBodies[0] as HTMLTableSectionElement).replaceChildren(el('tr', {}, el('td', { colspan: '5', class: 'muted' }, 'Nothing was placed.')));
    }
    showRequestError(error);
  }
};

const setConnection = (state: string, text: string): void => {
  ui.connState.dataset.state = state;
  ui.connState.textContent = text;
  ui.place.disabled = state !== 'open';
};

const connectWith = async (apiKey: string): Promise<void> => {
  clearError();
  await client?.close().catch(() => undefined);
  client = undefined;
  setConnection('connecting', 'connecting…');
  try {
    client = await connect({
      url: wsUrl,
      apiKey,
      apiKeyIn: 'query',
      WebSocket: WebSocket as never,
      onConnectionState: (state) => setConnection(state, state === 'open' ? 'connected' : state),
    });
    sessionStorage.setItem('engine-api-key', apiKey);
    setConnection('open', 'connected');
    scheduleQuote();
  } catch (error) {
    setConnection('closed', 'not connected');
    showRequestError(error);
  }
};

ui.sideBuy.addEventListener('click', () => setSide('buy'));
ui.sideSell.addEventListener('click', () => setSide('sell'));
for (const input of [ui.pair, ui.amount, ui.slippage]) input.addEventListener('input', () => {
  refreshUnit();
  scheduleQuote();
});
ui.form.addEventListener('submit', (event) => {
  event.preventDefault();
  void place();
});
ui.connect.addEventListener('click', () => void connectWith(ui.apiKey.value.trim()));

// `#apiKey=sk_...` in the address (a fragment never reaches a server), else the key this tab used last.
const fromHash = new URLSearchParams(location.hash.slice(1)).get('apiKey');
const initialKey = fromHash ?? sessionStorage.getItem('engine-api-key') ?? '';
if (fromHash) history.replaceState(null, '', location.pathname);
refreshUnit();
if (initialKey) {
  ui.apiKey.value = initialKey;
  void connectWith(initialKey);
}

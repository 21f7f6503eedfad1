/**
 * The CLI's argument grammar, as a pure function (tests/unit/cli-args.test.ts).
 *
 * PROTOCOL.md: `amount` is always the exact input amount of `tokenIn`. So a buy names what it spends:
 *   buy SOL --with 150 USDC      spend exactly 150 USDC on SOL (tokenIn USDC, tokenOut SOL, amount "150")
 *   sell 2 SOL --for USDC        sell exactly 2 SOL for USDC  (tokenIn SOL, tokenOut USDC, amount "2")
 * `buy 1.5 SOL --with USDC` ("receive exactly 1.5 SOL") is not an order the engine takes; it is refused with a hint.
 */
export const USAGE = `usage:
  cli buy <TOKEN> --with <AMOUNT> <TOKEN> [--slippage <pct>] [--count <n>] [--json]   spend exactly AMOUNT
  cli sell <AMOUNT> <TOKEN> --for <TOKEN> [--slippage <pct>] [--count <n>] [--json]  sell exactly AMOUNT
  cli quote buy <TOKEN> --with <AMOUNT> <TOKEN> | quote sell <AMOUNT> <TOKEN> --for <TOKEN> [--json]
  cli watch <orderId> [--json]
  cli orders [--status open|closed|all] [--limit <n>] [--json]   this account's orders, newest first, one line each
  cli cancel <orderId> [--json]                                    cancel a pending or open order
connection: --url <ws-url> --api-key <key>, else ENGINE_WS_URL / ENGINE_API_KEY, else the local stack
(.data/stack.json endpoints.ws and .data/dev-key).
exit code: 0 every order confirmed, 1 an order failed or a request was refused, 2 usage error.`;

export interface OrderArgs {
  side: 'buy' | 'sell';
  tokenIn: string;
  tokenOut: string;
  /** Exact input amount of tokenIn, as the decimal string typed. */
  amount: string;
  slippage?: number;
}

export type CliCommand =
  | { kind: 'execute'; order: OrderArgs; count: number }
  | { kind: 'quote'; order: OrderArgs }
  | { kind: 'watch'; orderId: string }
  | { kind: 'orders'; status: 'open' | 'closed' | 'all'; limit: number }
  | { kind: 'cancel'; orderId: string }
  | { kind: 'help' };

export interface CliArgs {
  command: CliCommand;
  json: boolean;
  url?: string;
  apiKey?: string;
}

export type ParseResult = { ok: true; args: CliArgs } | { ok: false; error: string };

const AMOUNT = /^(?:\d+(?:\.\d*)?|\.\d+)$/;
const TOKEN = /^[A-Za-z0-9]{1,64}$/;
const VALUE_FLAGS = new Set(['--with', '--for', '--slippage', '--count', '--url', '--api-key', '--status', '--limit']);
const BOOL_FLAGS = new Set(['--json', '--help', '-h']);

class UsageError extends Error {}

const amountOf = (text: string | undefined, what: string): string => {
  if (text === undefined || !AMOUNT.test(text) || Number(text) <= 0) throw new UsageError(`${what}: expected a positive decimal amount, got ${text === undefined ? 'nothing' : `"${text}"`}`);
  return text;
};

const tokenOf = (text: string | undefined, what: string): string => {
  if (text === undefined || !TOKEN.test(text)) throw new UsageError(`${what}: expected a token symbol or mint, got ${text === undefined ? 'nothing' : `"${text}"`}`);
  return text;
};

const orderOf = (words: string[], flags: Map<string, string[]>): OrderArgs => {
  const [side, ...rest] = words;
  const slippageText = flags.get('--slippage')?.[0];
  let slippage: number | undefined;
  if (slippageText !== undefined) {
    slippage = Number(slippageText);
    if (!/^\d+(?:\.\d{1,2})?$/.test(slippageText) || !(slippage > 0 && slippage <= 50)) {
      throw new UsageError(`--slippage: expected a percent, 0 < s <= 50 with at most 2 decimals, got "${slippageText}"`);
    }
  }
  const withSlippage = (order: OrderArgs): OrderArgs => (slippage === undefined ? order : { ...order, slippage });
  if (side === 'buy') {
    if (flags.has('--for')) throw new UsageError('buy takes --with <AMOUNT> <TOKEN> (what it spends), not --for');
    if (rest.length === 2 && AMOUNT.test(rest[0] ?? '')) {
      throw new UsageError(
        `the engine's amount is the exact amount spent (tokenIn), so say how much to spend: buy ${rest[1]} --with <AMOUNT> ${flags.get('--with')?.[0] ?? '<TOKEN>'}`,
      );
    }
    if (rest.length !== 1) throw new UsageError('buy: expected buy <TOKEN> --with <AMOUNT> <TOKEN>');
    const spend = flags.get('--with');
    if (!spend || spend.length !== 2) throw new UsageError('buy: --with takes the amount to spend and its token, e.g. --with 150 USDC');
    return withSlippage({ side: 'buy', tokenOut: tokenOf(rest[0], 'token to buy'), amount: amountOf(spend[0], '--with'), tokenIn: tokenOf(spend[1], '--with token') });
  }
  if (side === 'sell') {
    if (flags.has('--with')) throw new UsageError('sell takes --for <TOKEN> (what it receives), not --with');
    if (rest.length !== 2) throw new UsageError('sell: expected sell <AMOUNT> <TOKEN> --for <TOKEN>');
    const receive = flags.get('--for');
    if (!receive || receive.length !== 1) throw new UsageError('sell: --for takes the token to receive, e.g. --for USDC');
    return withSlippage({ side: 'sell', amount: amountOf(rest[0], 'amount to sell'), tokenIn: tokenOf(rest[1], 'token to sell'), tokenOut: tokenOf(receive[0], '--for') });
  }
  throw new UsageError(`expected buy or sell, got ${side === undefined ? 'nothing' : `"${side}"`}`);
};

export const parseCliArgs = (argv: readonly string[]): ParseResult => {
  try {
    const words: string[] = [];
    const flags = new Map<string, string[]>();
    for (let i = 0; i < argv.length; i += 1) {
      const arg = argv[i] as string;
      if (arg.startsWith('-') && !AMOUNT.test(arg)) {
        const [name, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
        if (flags.has(name)) throw new UsageError(`${name} given twice`);
        if (BOOL_FLAGS.has(name)) {
          if (inline !== undefined) throw new UsageError(`${name} takes no value`);
          flags.set(name, []);
        } else if (VALUE_FLAGS.has(name)) {
          // --with takes an amount and a token (buy ... --with 150 USDC); the others one value.
          const arity = name === '--with' && inline === undefined ? 2 : 1;
          const values = inline !== undefined ? [inline] : argv.slice(i + 1, i + 1 + arity).filter((value) => !value.startsWith('--'));
          if (values.length === 0) throw new UsageError(`${name} needs a value`);
          if (name === '--with' && values.length === 2 && !AMOUNT.test(values[0] ?? '')) values.pop(); // old form: --with USDC
          i += inline !== undefined ? 0 : values.length;
          flags.set(name, values);
        } else {
          throw new UsageError(`unknown option ${name}`);
        }
      } else {
        words.push(arg);
      }
    }
    const json = flags.has('--json');
    const connection = { ...(flags.get('--url') ? { url: flags.get('--url')?.[0] } : {}), ...(flags.get('--api-key') ? { apiKey: flags.get('--api-key')?.[0] } : {}) };
    if (flags.has('--help') || flags.has('-h') || words[0] === 'help') return { ok: true, args: { command: { kind: 'help' }, json, ...connection } };
    const [verb, ...rest] = words;
    const countText = flags.get('--count')?.[0];
    if ((flags.has('--status') || flags.has('--limit')) && verb !== 'orders') throw new UsageError('--status and --limit apply to orders only');
    if (countText !== undefined && verb !== 'buy' && verb !== 'sell') throw new UsageError('--count applies to buy and sell only');
    let command: CliCommand;
    if (verb === 'buy' || verb === 'sell') {
      const count = countText === undefined ? 1 : Number(countText);
      if (!/^\d+$/.test(countText ?? '1') || count < 1 || count > 1000) throw new UsageError(`--count: expected an integer 1-1000, got "${countText}"`);
      command = { kind: 'execute', order: orderOf(words, flags), count };
    } else if (verb === 'quote') {
      command = { kind: 'quote', order: orderOf(rest, flags) };
    } else if (verb === 'watch') {
      if (flags.has('--with') || flags.has('--for') || flags.has('--slippage')) throw new UsageError('watch takes only an order id');
      if (rest.length !== 1 || !/^[0-9A-Za-z]{26}$/.test(rest[0] ?? '')) throw new UsageError('watch: expected watch <orderId> (26 characters)');
      command = { kind: 'watch', orderId: (rest[0] as string).toUpperCase() };
    } else if (verb === 'orders' || verb === 'cancel') {
      if (flags.has('--with') || flags.has('--for') || flags.has('--slippage')) throw new UsageError(`${verb} takes no order options`);
      if (verb === 'cancel') {
        if (rest.length !== 1 || !/^[0-9A-Za-z]{26}$/.test(rest[0] ?? '')) throw new UsageError('cancel: expected cancel <orderId> (26 characters)');
        command = { kind: 'cancel', orderId: (rest[0] as string).toUpperCase() };
      } else {
        if (rest.length > 0) throw new UsageError('orders takes only --status and --limit');
        const status = flags.get('--status')?.[0] ?? 'all';
        if (status !== 'open' && status !== 'closed' && status !== 'all') throw new UsageError(`--status: expected open, closed or all, got "${status}"`);
        const limitText = flags.get('--limit')?.[0] ?? '50';
        const limit = Number(limitText);
        // More than a page (100) is fetched page by page.
        if (!/^\d+$/.test(limitText) || limit < 1 || limit > 10_000) throw new UsageError(`--limit: expected an integer 1-10000, got "${limitText}"`);
        command = { kind: 'orders', status, limit };
      }
    } else {
      throw new UsageError(verb === undefined ? 'no command given' : `unknown command "${verb}"`);
    }
    return { ok: true, args: { command, json, ...connection } };
  } catch (error) {
    if (error instanceof UsageError) return { ok: false, error: error.message };
    throw error;
  }
};

export interface Endpoint {
  url: string;
  apiKey: string | undefined;
}

/**
 * Where to connect: flags, then ENGINE_WS_URL / ENGINE_API_KEY, then the local stack's state file and dev key
 * (infra/start.ts writes both). `readFile` returns undefined for a missing file.
 */
export const resolveEndpoint = (args: Pick<CliArgs, 'url' | 'apiKey'>, env: Record<string, string | undefined>, readFile: (name: 'stack.json' | 'dev-key') => string | undefined): Endpoint | { error: string } => {
  let url = args.url ?? env.ENGINE_WS_URL;
  let apiKey = args.apiKey ?? env.ENGINE_API_KEY;
  if (!url) {
    const state = readFile('stack.json');
    if (state) {
      try {
        const ws = (JSON.parse(state) as { endpoints?: { ws?: unknown } }).endpoints?.ws;
        if (typeof ws === 'string') url = ws;
      } catch {
        return { error: '.data/stack.json is not JSON' };
      }
    }
  }
  if (!url) return { error: 'no engine URL: pass --url, set ENGINE_WS_URL, or start the local stack (npm start)' };
  // The ready line's URL carries the key in the query: take it from there rather than sending it twice.
  const query = /[?&]apiKey=([^&]*)/.exec(url);
  if (query) {
    apiKey ??= decodeURIComponent(query[1] ?? '');
    url = url.replace(/([?&])apiKey=[^&]*&?/, '$1').replace(/[?&]$/, '');
  }
  apiKey ??= readFile('dev-key')?.trim() || undefined;
  return { url, apiKey };
};

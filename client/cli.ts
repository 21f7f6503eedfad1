/**
 * npm run cli -- buy SOL --with 150 USDC | sell 2 SOL --for USDC | quote ... | watch <orderId>   (see cli-args.ts)
 * Exit code 0 when every order confirmed, 1 when any failed or was refused, 2 on usage errors.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCliArgs, resolveEndpoint, USAGE, type OrderArgs } from './cli-args';
import { connect, EngineRequestError, type EngineClient, type ErrorFrame, type OrderFrame, type OrderHandle } from './sdk';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dataRoot = resolve(process.env.STACK_DATA_DIR || join(repoRoot, '.data'));

const readDataFile = (name: 'stack.json' | 'dev-key'): string | undefined => {
  try {
    return readFileSync(name === 'stack.json' ? process.env.STACK_STATE_FILE || join(dataRoot, name) : join(dataRoot, name), 'utf8');
  } catch {
    return undefined;
  }
};

const describeQuotes = (quotes: unknown): string => {
  if (!Array.isArray(quotes)) return '';
  return quotes
    .map((quote) => {
      const q = quote as { dex?: unknown; amountOut?: unknown; price?: unknown };
      return `${String(q.dex)} ${String(q.amountOut)} @ ${String(q.price)}`;
    })
    .join(' | ');
};

/** One frame's detail: the venues' quotes side by side for routing, the route, the tx, the outcome. */
const detailOf = (frame: OrderFrame): string => {
  const meta = frame.meta as Record<string, unknown>;
  switch (frame.status) {
    case 'pending':
      return meta.lastError ? `retry ${frame.attempt}: ${JSON.stringify(meta.lastError)}` : '';
    case 'routing':
      return `[${describeQuotes(meta.quotes)}]`;
    case 'building': {
      const route = meta.route as { dex?: unknown; amountOut?: unknown; minAmountOut?: unknown } | undefined;
      return route ? `${String(route.dex)} out ${String(route.amountOut)} (min ${String(route.minAmountOut)})` : '';
    }
    case 'submitted':
      return `${String(meta.dex)} ${String(meta.txHash)}`;
    case 'confirmed':
      return `${String(meta.amountIn)} -> ${String(meta.amountOut)} @ ${String(meta.executedPrice)} on ${String(meta.dex)} tx ${String(meta.txHash)}`;
    case 'failed': {
      const error = meta.error as { code?: unknown; message?: unknown } | undefined;
      return error ? `${String(error.code)}: ${String(error.message)}` : '';
    }
    default:
      return '';
  }
};

const refusalText = (error: unknown): string => {
  if (error instanceof EngineRequestError) {
    const details = error.details?.map((d) => `${d.path}: ${d.message}`).join('; ');
    return `refused ${error.code}: ${error.frame.message}${details ? ` (${details})` : ''}${error.retryAfterMs !== undefined ? ` retry after ${error.retryAfterMs} ms` : ''}`;
  }
  return `error: ${error instanceof Error ? error.message : String(error)}`;
};

interface Output {
  frame(index: number, frame: OrderFrame): void;
  refused(index: number, label: string, error: unknown): void;
  finish(): void;
}

/** --json: each frame as one JSON line (a refusal as its error frame). */
const jsonOutput = (): Output => ({
  frame: (_index, frame) => process.stdout.write(`${JSON.stringify(frame)}\n`),
  refused: (_index, _label, error) => {
    const frame: ErrorFrame | { type: 'error'; code: string; message: string } =
      error instanceof EngineRequestError ? error.frame : { type: 'error', code: 'CONNECTION', message: error instanceof Error ? error.message : String(error) };
    process.stdout.write(`${JSON.stringify(frame)}\n`);
  },
  finish: () => undefined,
});

/** Not a TTY: one plain line per frame. */
const plainOutput = (started: number[]): Output => ({
  frame: (index, frame) => {
    const elapsed = Date.now() - (started[index] ?? Date.now());
    process.stdout.write(`#${index + 1} ${frame.orderId} seq ${frame.seq} ${frame.status} +${elapsed}ms ${detailOf(frame)}`.trimEnd() + '\n');
  },
  refused: (index, label, error) => process.stdout.write(`#${index + 1} ${label} ${refusalText(error)}\n`),
  finish: () => undefined,
});

/** A TTY: one live line per order, redrawn in place: pending 3ms -> routing 41ms [...] -> ... -> confirmed 412ms. */
const ttyOutput = (count: number, started: number[]): Output => {
  const lines: string[] = Array.from({ length: count }, (_, i) => `#${i + 1} sending...`);
  const steps: string[][] = Array.from({ length: count }, () => []);
  let drawn = 0;
  const draw = () => {
    let out = drawn > 0 ? `\x1b[${drawn}A` : '';
    for (const line of lines) out += `\x1b[2K${line.slice(0, Math.max(20, (process.stdout.columns ?? 200) - 1))}\n`;
    drawn = lines.length;
    process.stdout.write(out);
  };
  draw();
  return {
    frame: (index, frame) => {
      const elapsed = Date.now() - (started[index] ?? Date.now());
      const detail = frame.status === 'routing' || frame.status === 'confirmed' || frame.status === 'failed' ? ` ${detailOf(frame)}` : '';
      steps[index]?.push(`${frame.status} ${elapsed}ms${detail}`);
      lines[index] = `#${index + 1} ${frame.orderId} ${steps[index]?.join(' -> ')}`;
      draw();
    },
    refused: (index, label, error) => {
      lines[index] = `#${index + 1} ${label} ${refusalText(error)}`;
      draw();
    },
    finish: draw,
  };
};

const follow = async (handle: OrderHandle, index: number, label: string, output: Output): Promise<boolean> => {
  try {
    for await (const frame of handle.frames) output.frame(index, frame);
    return (await handle.done).status === 'confirmed';
  } catch (error) {
    output.refused(index, label, error);
    return false;
  }
};

const labelOf = (order: OrderArgs): string =>
  order.side === 'buy' ? `buy ${order.tokenOut} with ${order.amount} ${order.tokenIn}` : `sell ${order.amount} ${order.tokenIn} for ${order.tokenOut}`;

/** One line per order of `orders`: id, status, seq, age of its latest frame, clientOrderId, and that frame's detail. */
const orderLine = (frame: OrderFrame, nowMs: number): string => {
  const meta = frame.meta as Record<string, unknown>;
  const trigger = meta.trigger as { type?: unknown; limitPrice?: unknown; lastPrice?: unknown; expiresAt?: unknown } | undefined;
  const detail =
    frame.status === 'open' && trigger
      ? `${String(trigger.type)} @ ${String(trigger.limitPrice)} (last ${String(trigger.lastPrice)}) until ${String(trigger.expiresAt)}`
      : frame.status === 'cancelled'
        ? `by ${String(meta.reason)}`
        : detailOf(frame);
  const ageSeconds = Math.max(0, Math.round((nowMs - Date.parse(frame.at)) / 1000));
  return `${frame.orderId} ${frame.status.padEnd(9)} seq ${frame.seq} ${ageSeconds}s ago ${frame.clientOrderId ?? '-'} ${detail}`.trimEnd();
};

/** `orders`: up to `limit` orders, newest first, asking page after page (at most 100 each). */
const listOrders = async (client: EngineClient, command: { status: 'open' | 'closed' | 'all'; limit: number }, json: boolean): Promise<number> => {
  let left = command.limit;
  let cursor: string | undefined;
  try {
    while (left > 0) {
      const page = await client.orders({ status: command.status, limit: Math.min(100, left), ...(cursor ? { cursor } : {}) });
      for (const frame of page.orders.slice(0, left)) process.stdout.write(json ? `${JSON.stringify(frame)}\n` : `${orderLine(frame, Date.now())}\n`);
      left -= page.orders.length;
      if (page.cursor === null) break;
      cursor = page.cursor;
    }
    return 0;
  } catch (error) {
    if (json && error instanceof EngineRequestError) process.stdout.write(`${JSON.stringify(error.frame)}\n`);
    else process.stderr.write(`${refusalText(error)}\n`);
    return 1;
  }
};

// A reader that goes away (`| head`) ends the output, not the process with a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

const main = async (): Promise<number> => {
  const parsed = parseCliArgs(process.argv.slice(2));
  if (!parsed.ok) {
    process.stderr.write(`${parsed.error}\n\n${USAGE}\n`);
    return 2;
  }
  const { args } = parsed;
  if (args.command.kind === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const endpoint = resolveEndpoint(args, process.env, readDataFile);
  if ('error' in endpoint) {
    process.stderr.write(`${endpoint.error}\n`);
    return 2;
  }
  let client: EngineClient;
  try {
    client = await connect({
      url: endpoint.url,
      ...(endpoint.apiKey ? { apiKey: endpoint.apiKey } : {}),
      reconnect: { baseMs: 250, capMs: 5_000, maxAttempts: 8 },
      onProtocolError: (problem) => process.stderr.write(`protocol error: ${problem.reason}\n`),
      onConnectionState: (state, info) => {
        if (state === 'reconnecting') process.stderr.write(`connection lost (${info.closeCode}), reconnecting in ${info.delayMs} ms\n`);
      },
    });
  } catch (error) {
    process.stderr.write(`cannot connect to ${endpoint.url}: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  try {
    const command = args.command;
    if (command.kind === 'quote') {
      try {
        const quote = await client.quote(command.order);
        if (args.json) process.stdout.write(`${JSON.stringify(quote)}\n`);
        else {
          const route = quote.route as { dex?: unknown; amountOut?: unknown; price?: unknown } | undefined;
          process.stdout.write(`quote ${labelOf(command.order)}: ${describeQuotes(quote.quotes)}\nbest: ${String(route?.dex)} out ${String(route?.amountOut)} @ ${String(route?.price)}\n`);
        }
        return 0;
      } catch (error) {
        if (args.json && error instanceof EngineRequestError) process.stdout.write(`${JSON.stringify(error.frame)}\n`);
        else process.stderr.write(`${refusalText(error)}\n`);
        return 1;
      }
    }
    if (command.kind === 'orders') return await listOrders(client, command, args.json);
    if (command.kind === 'cancel') {
      try {
        const frame = await client.cancel({ orderId: command.orderId });
        process.stdout.write(args.json ? `${JSON.stringify(frame)}\n` : `${frame.orderId} seq ${frame.seq} ${frame.status}\n`);
        return 0;
      } catch (error) {
        if (args.json && error instanceof EngineRequestError) process.stdout.write(`${JSON.stringify(error.frame)}\n`);
        else process.stderr.write(`${refusalText(error)}\n`);
        return 1;
      }
    }
    const count = command.kind === 'execute' ? command.count : 1;
    const started = Array.from({ length: count }, () => Date.now());
    const output = args.json ? jsonOutput() : process.stdout.isTTY ? ttyOutput(count, started) : plainOutput(started);
    const handles: { handle: OrderHandle; label: string }[] = [];
    for (let i = 0; i < count; i += 1) {
      if (command.kind === 'watch') handles.push({ handle: client.subscribe(command.orderId), label: `watch ${command.orderId}` });
      else {
        const { side, tokenIn, tokenOut, amount, slippage } = command.order;
        started[i] = Date.now();
        handles.push({ handle: client.execute({ side, tokenIn, tokenOut, amount, ...(slippage !== undefined ? { slippage } : {}) }), label: labelOf(command.order) });
      }
    }
    const results = await Promise.all(handles.map(({ handle, label }, index) => follow(handle, index, label, output)));
    output.finish();
    return results.every(Boolean) ? 0 : 1;
  } finally {
    await client.close();
  }
};

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);

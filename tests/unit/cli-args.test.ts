import { describe, expect, it } from 'vitest';
import { parseCliArgs, resolveEndpoint } from '../../client/cli-args';

const ok = (argv: string[]) => {
  const result = parseCliArgs(argv);
  if (!result.ok) throw new Error(result.error);
  return result.args;
};
const usage = (argv: string[]): string => {
  const result = parseCliArgs(argv);
  if (result.ok) throw new Error(`accepted: ${JSON.stringify(result.args)}`);
  return result.error;
};

describe('cli arguments', () => {
  it('buy names what it spends: amount is the exact tokenIn amount (PROTOCOL.md)', () => {
    expect(ok(['buy', 'SOL', '--with', '150', 'USDC', '--slippage', '0.5', '--count', '3', '--json'])).toEqual({
      command: { kind: 'execute', count: 3, order: { side: 'buy', tokenIn: 'USDC', tokenOut: 'SOL', amount: '150', slippage: 0.5 } },
      json: true,
    });
  });

  it('refuses "buy 1.5 SOL --with USDC" with a hint, since the engine takes no exact-output buy', () => {
    expect(usage(['buy', '1.5', 'SOL', '--with', 'USDC'])).toMatch(/exact amount spent.*buy SOL --with <AMOUNT> USDC/);
  });

  it('sell takes the amount sold and --for', () => {
    expect(ok(['sell', '2', 'SOL', '--for', 'USDC']).command).toEqual({ kind: 'execute', count: 1, order: { side: 'sell', tokenIn: 'SOL', tokenOut: 'USDC', amount: '2' } });
    expect(ok(['sell', '2', 'SOL', '--for=USDC', '--url', 'ws://h:1', '--api-key', 'k'])).toMatchObject({ url: 'ws://h:1', apiKey: 'k' });
  });

  it('quote and watch', () => {
    expect(ok(['quote', 'sell', '2', 'SOL', '--for', 'USDC']).command).toEqual({ kind: 'quote', order: { side: 'sell', tokenIn: 'SOL', tokenOut: 'USDC', amount: '2' } });
    expect(ok(['quote', 'buy', 'SOL', '--with', '10', 'USDC']).command).toMatchObject({ kind: 'quote', order: { side: 'buy', tokenIn: 'USDC', amount: '10' } });
    expect(ok(['watch', '01JD000000000000000000000A', '--json'])).toEqual({ command: { kind: 'watch', orderId: '01JD000000000000000000000A' }, json: true });
    expect(ok(['--help']).command).toEqual({ kind: 'help' });
  });

  it('orders and cancel', () => {
    expect(ok(['orders']).command).toEqual({ kind: 'orders', status: 'all', limit: 50 });
    expect(ok(['orders', '--status', 'open', '--limit', '250', '--json'])).toEqual({ command: { kind: 'orders', status: 'open', limit: 250 }, json: true });
    expect(ok(['orders', '--status=closed']).command).toEqual({ kind: 'orders', status: 'closed', limit: 50 });
    expect(ok(['cancel', '01jd000000000000000000000a']).command).toEqual({ kind: 'cancel', orderId: '01JD000000000000000000000A' });
    expect(usage(['orders', '--status', 'pending'])).toMatch(/--status: expected open, closed or all/);
    expect(usage(['orders', '--limit', '0'])).toMatch(/--limit/);
    expect(usage(['orders', '--limit', '2.5'])).toMatch(/--limit/);
    expect(usage(['orders', 'SOL'])).toMatch(/only --status and --limit/);
    expect(usage(['cancel'])).toMatch(/cancel <orderId>/);
    expect(usage(['cancel', '01JD000000000000000000000A', '--limit', '3'])).toMatch(/apply to orders only/);
    expect(usage(['sell', '2', 'SOL', '--for', 'USDC', '--status', 'open'])).toMatch(/apply to orders only/);
  });

  it('usage errors say what is wrong', () => {
    expect(usage([])).toMatch(/no command/);
    expect(usage(['swap'])).toMatch(/unknown command "swap"/);
    expect(usage(['sell', '0', 'SOL', '--for', 'USDC'])).toMatch(/positive decimal/);
    expect(usage(['sell', 'x', 'SOL', '--for', 'USDC'])).toMatch(/positive decimal/);
    expect(usage(['sell', '2', 'SOL'])).toMatch(/--for/);
    expect(usage(['sell', '2', 'SOL', '--with', '1', 'USDC'])).toMatch(/not --with/);
    expect(usage(['sell', '2', 'SOL', '--for', 'USDC', '--slippage', '51'])).toMatch(/--slippage/);
    expect(usage(['sell', '2', 'SOL', '--for', 'USDC', '--slippage', '0.125'])).toMatch(/--slippage/);
    expect(usage(['sell', '2', 'SOL', '--for', 'USDC', '--count', '0'])).toMatch(/--count/);
    expect(usage(['sell', '2', 'SOL', '--for', 'USDC', '--bogus'])).toMatch(/unknown option --bogus/);
    expect(usage(['sell', '2', 'SOL', '--for', 'USDC', '--json', '--json'])).toMatch(/twice/);
    expect(usage(['watch'])).toMatch(/watch <orderId>/);
    expect(usage(['quote', 'sell', '2', 'SOL', '--for', 'USDC', '--count', '2'])).toMatch(/--count/);
  });
});

describe('endpoint resolution', () => {
  const files = (stack?: string, key?: string) => (name: 'stack.json' | 'dev-key') => (name === 'stack.json' ? stack : key);

  it('flags win over env, env over the local stack', () => {
    expect(resolveEndpoint({ url: 'ws://a', apiKey: 'f' }, { ENGINE_WS_URL: 'ws://b', ENGINE_API_KEY: 'e' }, files())).toEqual({ url: 'ws://a', apiKey: 'f' });
    expect(resolveEndpoint({}, { ENGINE_WS_URL: 'ws://b', ENGINE_API_KEY: 'e' }, files('{"endpoints":{"ws":"ws://c"}}', 'd'))).toEqual({ url: 'ws://b', apiKey: 'e' });
    expect(resolveEndpoint({}, {}, files('{"endpoints":{"ws":"ws://127.0.0.1:3001"}}', 'dev\n'))).toEqual({ url: 'ws://127.0.0.1:3001', apiKey: 'dev' });
  });

  it('takes the key from a pasted ready-line URL', () => {
    expect(resolveEndpoint({ url: 'ws://127.0.0.1:3001?apiKey=abc' }, {}, files())).toEqual({ url: 'ws://127.0.0.1:3001', apiKey: 'abc' });
  });

  it('says how to fix a missing URL', () => {
    expect(resolveEndpoint({}, {}, files())).toEqual({ error: expect.stringMatching(/--url.*ENGINE_WS_URL.*npm start/) });
  });
});

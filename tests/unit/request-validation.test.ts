import { describe, expect, it } from 'vitest';
import { launchedTokensOf, validateExecute, validateQuote, validateSubscribe } from '../../lib/orders/request';
import { RequestError, VenueError } from '../../lib/errors';
import type { Token } from '../../lib/tokens';

const valid = { action: 'execute', side: 'buy', tokenIn: 'USDC', tokenOut: 'SOL', amount: 100, slippage: 1.0, clientOrderId: 'bot7-000123' };

const rejection = (run: () => unknown): RequestError => {
  try {
    run();
  } catch (error) {
    if (error instanceof RequestError) return error;
    throw error;
  }
  throw new Error('expected a RequestError');
};

describe('execute validation', () => {
  it('accepts the PROTOCOL.md example and converts to base units', () => {
    const order = validateExecute(valid, { testHooks: false });
    expect(order.tokenIn.symbol).toBe('USDC');
    expect(order.tokenOut.symbol).toBe('SOL');
    expect(order.amountIn).toBe(100_000_000n);
    expect(order.slippageBps).toBe(100);
    expect(order.clientOrderId).toBe('bot7-000123');
  });

  it('accepts a decimal string amount, a mint address and defaults slippage to 1%', () => {
    const { slippage: _omit, ...rest } = valid;
    const order = validateExecute({ ...rest, tokenOut: 'So11111111111111111111111111111111111111112', amount: '0.5' }, { testHooks: false });
    expect(order.amountIn).toBe(500_000n);
    expect(order.tokenOut.symbol).toBe('SOL');
    expect(order.slippageBps).toBe(100);
  });

  it.each([
    [{ amount: 0 }, 'VALIDATION_FAILED', 'amount'],
    [{ amount: -1 }, 'VALIDATION_FAILED', 'amount'],
    [{ amount: '1.0000001' }, 'VALIDATION_FAILED', 'amount'],
    [{ amount: 'ten' }, 'VALIDATION_FAILED', 'amount'],
    [{ amount: true }, 'VALIDATION_FAILED', 'amount'],
    [{ side: 'short' }, 'VALIDATION_FAILED', 'side'],
    [{ side: undefined }, 'VALIDATION_FAILED', 'side'],
    [{ tokenIn: 'NOPE' }, 'UNKNOWN_TOKEN', 'tokenIn'],
    [{ tokenOut: 42 }, 'VALIDATION_FAILED', 'tokenOut'],
    [{ tokenOut: 'USDC' }, 'VALIDATION_FAILED', 'tokenOut'],
    [{ slippage: 0 }, 'VALIDATION_FAILED', 'slippage'],
    [{ slippage: 50.01 }, 'VALIDATION_FAILED', 'slippage'],
    [{ slippage: '1' }, 'VALIDATION_FAILED', 'slippage'],
    [{ slippage: 0.001 }, 'VALIDATION_FAILED', 'slippage'],
    [{ slippage: 1e-300 }, 'VALIDATION_FAILED', 'slippage'],
    [{ clientOrderId: 'has space' }, 'VALIDATION_FAILED', 'clientOrderId'],
    [{ clientOrderId: 'x'.repeat(65) }, 'VALIDATION_FAILED', 'clientOrderId'],
    [{ slipage: 3 }, 'VALIDATION_FAILED', 'slipage'],
    [{ mockFailures: { 1: 'RPC_TIMEOUT' } }, 'VALIDATION_FAILED', 'mockFailures'],
  ])('rejects %j with %s at %s', (patch, code, path) => {
    const error = rejection(() => validateExecute({ ...valid, ...patch }, { testHooks: false }));
    expect(error.code).toBe(code);
    expect(error.issues.map((issue) => issue.path)).toContain(path);
  });

  it('priorityFee: "auto", "none" or {"maxLamports": <int>}; anything else is VALIDATION_FAILED at its path', () => {
    expect(validateExecute(valid, { testHooks: false }).priorityFee).toBeUndefined();
    expect(validateExecute({ ...valid, priorityFee: 'auto' }, { testHooks: false }).priorityFee).toBe('auto');
    expect(validateExecute({ ...valid, priorityFee: 'none' }, { testHooks: false }).priorityFee).toBe('none');
    expect(validateExecute({ ...valid, priorityFee: { maxLamports: 50_000 } }, { testHooks: false }).priorityFee).toEqual({ maxLamports: 50_000 });
    for (const bad of ['high', 5, { maxLamports: -1 }, { maxLamports: 1.5 }, { maxLamports: 10 ** 10 }, { maxLamports: 1, extra: true }, null]) {
      const error = rejection(() => validateExecute({ ...valid, priorityFee: bad }, { testHooks: false }));
      expect(error.code).toBe('VALIDATION_FAILED');
      expect(error.issues.map((issue) => issue.path.split('.')[0])).toContain('priorityFee');
    }
  });

  it('accepts forced failures only when test hooks are on', () => {
    const order = validateExecute({ ...valid, mockFailures: { 1: 'RPC_TIMEOUT', 2: 'BLOCKHASH_EXPIRED' } }, { testHooks: true });
    expect(order.mockFailures).toEqual({ 1: 'RPC_TIMEOUT', 2: 'BLOCKHASH_EXPIRED' });
  });
});

describe('quote and subscribe validation', () => {
  it('quote takes the order fields without clientOrderId', () => {
    const { clientOrderId: _omit, ...quote } = { ...valid, action: 'quote' };
    expect(validateQuote(quote).amountIn).toBe(100_000_000n);
    expect(rejection(() => validateQuote({ ...quote, clientOrderId: 'a' })).code).toBe('VALIDATION_FAILED');
  });

  it('subscribe needs an order id', () => {
    expect(validateSubscribe({ action: 'subscribe', orderId: '01JD0000000000000000000000' }).orderId).toHaveLength(26);
    expect(rejection(() => validateSubscribe({ action: 'subscribe', orderId: 'nope' })).issues[0]?.path).toBe('orderId');
    expect(rejection(() => validateSubscribe({ action: 'subscribe' })).issues[0]?.path).toBe('orderId');
  });
});

describe('execute validation: order types, expiry and routability', () => {
  const nowMs = Date.UTC(2026, 11, 2, 12);
  const limit = { ...valid, type: 'limit', limitPrice: '150' };

  it('a market order carries neither a limit price nor an expiry', () => {
    const error = rejection(() => validateExecute({ ...valid, limitPrice: '150', expiresAt: '2026-12-03T00:00:00Z' }, { testHooks: false, nowMs }));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.issues.map((issue) => issue.path)).toEqual(['limitPrice', 'expiresAt']);
  });

  it('a limit order needs its limit price', () => {
    const { limitPrice: _omit, ...withoutPrice } = limit;
    const error = rejection(() => validateExecute(withoutPrice, { testHooks: false, nowMs }));
    expect(error.issues).toEqual([{ path: 'limitPrice', message: 'required for a limit order' }]);
  });

  it('rests a day by default, and until its expiry when it names one within 30 days', () => {
    expect(validateExecute(limit, { testHooks: false, nowMs }).expiresAtMs).toBe(nowMs + 24 * 3600_000);
    expect(validateExecute({ ...limit, expiresAt: '2026-12-09T12:00:00Z' }, { testHooks: false, nowMs }).expiresAtMs).toBe(Date.UTC(2026, 11, 9, 12));
  });

  it.each([
    ['2026-12-02T11:59:59Z', 'is in the past'],
    ['2026-12-02T12:00:00Z', 'is in the past'],
    ['2027-01-02T12:00:01Z', 'at most 30 days ahead'],
  ])('refuses an expiry of %s: %s', (expiresAt, message) => {
    const error = rejection(() => validateExecute({ ...limit, expiresAt }, { testHooks: false, nowMs }));
    expect(error.issues).toEqual([{ path: 'expiresAt', message }]);
  });

  it('refuses the same token on both sides', () => {
    const error = rejection(() => validateExecute({ ...valid, tokenOut: 'USDC' }, { testHooks: false, nowMs }));
    expect(error.issues).toEqual([{ path: 'tokenOut', message: 'must differ from tokenIn' }]);
  });

  it('a snipe must name a launched token', () => {
    const error = rejection(() => validateExecute({ ...valid, type: 'snipe' }, { testHooks: false, nowMs }));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.issues[0]?.path).toBe('tokenOut');
  });

  it('two listed tokens without a pool between them are NO_ROUTE, at once and not retryable', () => {
    let thrown: unknown;
    try {
      validateExecute({ ...valid, tokenIn: 'BONK', tokenOut: 'JTO' }, { testHooks: false, nowMs });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(VenueError);
    expect((thrown as VenueError).code).toBe('NO_ROUTE');
    expect((thrown as VenueError).retryable).toBe(false);
  });

  it('test hooks are refused where they are not enabled', () => {
    const error = rejection(() => validateExecute({ ...valid, mockFailures: { '1': 'VENUE_5XX' } }, { testHooks: false, nowMs }));
    expect(error.issues).toEqual([{ path: 'mockFailures', message: 'test hooks are not enabled on this engine' }]);
  });
});

describe('launched tokens named by an order', () => {
  const book = (known: Record<string, Token>) => {
    const asked: string[] = [];
    return { asked, tokenFor: async (name: string) => (asked.push(name), known[name]) };
  };
  const launched: Token = { symbol: 'LNCH', mint: 'LNCHmint1111111111111111111111111111111111', decimals: 6 };

  it('looks up only names the static list does not have, each once, and keeps those the book knows', async () => {
    const launches = book({ LNCH: launched });
    const found = await launchedTokensOf({ tokenIn: 'USDC', tokenOut: 'LNCH' }, launches);
    expect([...found]).toEqual([['LNCH', launched]]);
    expect(launches.asked).toEqual(['LNCH']);
    const unknown = book({});
    expect((await launchedTokensOf({ tokenIn: 'NOPE', tokenOut: 'NOPE' }, unknown)).size).toBe(0);
    expect(unknown.asked).toEqual(['NOPE', 'NOPE']);
  });

  it('asks nothing for a body that is not an object, or names that are empty, too long or not strings', async () => {
    const launches = book({});
    expect((await launchedTokensOf(null, launches)).size).toBe(0);
    expect((await launchedTokensOf('execute', launches)).size).toBe(0);
    expect((await launchedTokensOf({ tokenIn: '', tokenOut: 'x'.repeat(65) }, launches)).size).toBe(0);
    expect((await launchedTokensOf({ tokenIn: 7, tokenOut: { symbol: 'LNCH' } }, launches)).size).toBe(0);
    expect(launches.asked).toEqual([]);
  });
});

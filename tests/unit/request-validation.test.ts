import { describe, expect, it } from 'vitest';
import { validateExecute, validateQuote, validateSubscribe } from '../../lib/orders/request';
import { RequestError } from '../../lib/errors';

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

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formatUiAmount, parseUiAmount, resolveToken, TOKENS, U64_MAX, type Token } from '../../lib/tokens';
import { RequestError } from '../../lib/errors';

const token = (s: string): Token => resolveToken(s) as Token;
const USDC = token('USDC');
const SOL = token('SOL');
const BONK = token('BONK');

describe('token list', () => {
  it('uses the correct USDC mint and BONK decimals (dex-realism.md §5.1)', () => {
    expect(USDC.mint).toBe('EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v');
    expect(SOL.mint).toBe('So11111111111111111111111111111111111111112');
    expect(BONK.decimals).toBe(5);
    expect(new Set(TOKENS.map((t) => t.mint)).size).toBe(TOKENS.length);
  });

  it('resolves symbols case-insensitively and mints exactly', () => {
    expect(resolveToken('sol')).toBe(SOL);
    expect(resolveToken(USDC.mint)).toBe(USDC);
    expect(resolveToken(USDC.mint.toLowerCase())).toBeUndefined();
    expect(resolveToken('NOPE')).toBeUndefined();
  });
});

describe('parseUiAmount', () => {
  it('converts numbers and strings exactly', () => {
    expect(parseUiAmount(100, USDC)).toBe(100_000_000n);
    expect(parseUiAmount('1.5', SOL)).toBe(1_500_000_000n);
    expect(parseUiAmount(0.1, USDC)).toBe(100_000n);
    expect(parseUiAmount(0.3, USDC)).toBe(300_000n); // 0.1 + 0.2 style float error never appears
    expect(parseUiAmount(1e-7, SOL)).toBe(100n); // String(1e-7) === '1e-7'
    expect(parseUiAmount('2.5e3', USDC)).toBe(2_500_000_000n);
    expect(parseUiAmount('0.000001', USDC)).toBe(1n);
    expect(parseUiAmount('1.50000000', USDC)).toBe(1_500_000n);
    expect(parseUiAmount('.5', USDC)).toBe(500_000n);
  });

  it.each([
    [Number.NaN],
    [Number.POSITIVE_INFINITY],
    [-1],
    [0],
    ['0'],
    ['-1'],
    ['abc'],
    ['1.2.3'],
    [''],
    [' 1'],
    ['0x10'],
    ['1e-7'],
    [1e-7],
    ['0.0000001'],
    ['18446744073709.551616'],
    [1e30],
  ])('rejects %s for USDC', (value) => {
    let error: unknown;
    try {
      parseUiAmount(value as number | string, USDC);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RequestError);
    expect((error as RequestError).code).toBe('VALIDATION_FAILED');
    expect((error as RequestError).issues[0]?.path).toBe('amount');
  });

  it('accepts exactly u64 max base units', () => {
    expect(parseUiAmount('18446744073709.551615', USDC)).toBe(U64_MAX);
  });

  it('formats exactly with trailing zeros trimmed', () => {
    expect(formatUiAmount(1_500_000n, USDC)).toBe('1.5');
    expect(formatUiAmount(100_000_000n, USDC)).toBe('100');
    expect(formatUiAmount(1n, USDC)).toBe('0.000001');
    expect(formatUiAmount(0n, USDC)).toBe('0');
  });

  it('round-trips format -> parse for every token (property)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...TOKENS), fc.bigInt({ min: 1n, max: U64_MAX }), (t, base) => {
        expect(parseUiAmount(formatUiAmount(base, t), t)).toBe(base);
      }),
      { numRuns: 500 },
    );
  });

  it('round-trips numbers through their shortest decimal string (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 40 }), fc.integer({ min: 0, max: 6 }), (mantissa, scale) => {
        const n = mantissa / 10 ** scale;
        const base = parseUiAmount(n, USDC);
        expect(formatUiAmount(base, USDC)).toBe(String(n).includes('e') ? formatUiAmount(base, USDC) : String(n));
      }),
    );
  });
});

import { RequestError } from '../errors';

export interface Token {
  symbol: string;
  mint: string;
  decimals: number;
}

/** Verbatim from dex-realism.md §5.1 (note the USDC mint "xzyb", §0 fact 2). SOL trades as wrapped SOL. */
export const TOKENS: readonly Token[] = Object.freeze([
  { symbol: 'SOL', mint: 'So11111111111111111111111111111111111111112', decimals: 9 },
  { symbol: 'USDC', mint: 'EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v', decimals: 6 },
  { symbol: 'USDT', mint: 'Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB', decimals: 6 },
  { symbol: 'BONK', mint: 'DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263', decimals: 5 },
  { symbol: 'JUP', mint: 'JUPyiwrYJFskUPiHa7hkeR8VUtAeFoSYbKedZNsDvCN', decimals: 6 },
  { symbol: 'RAY', mint: '4k3Dyjzvzp8eMZWUXbBCjEvwSkkk59S5iCNLY3QrkX6R', decimals: 6 },
  { symbol: 'WIF', mint: 'EKpQGSJtjMFqKZ9KQanSqYXRcF8fBopzLHYxdM65zcjm', decimals: 6 },
  { symbol: 'JitoSOL', mint: 'J1toso1uCk3RLmjorhTtrVwY9HJ7X8V9yYac6Y7kGCPn', decimals: 9 },
  { symbol: 'mSOL', mint: 'mSoLzYCxHdYgdzU16g5QSh3i5K3z3KZK7ytfqcJm7So', decimals: 9 },
  { symbol: 'JTO', mint: 'jtojtomepa8beP8AuQc6eXt5FriJwfFMwQx2v2f9mCL', decimals: 9 },
  { symbol: 'ETH', mint: '7vfCXTUXx5WJV5JADk17DUJ4ksgau7utNKj4b963voxs', decimals: 8 },
  { symbol: 'WBTC', mint: '3NZ9JMVBmGAqocybic2c7LQCJScmgsAZ6vQqTDzcqmJh', decimals: 8 },
  { symbol: 'PYTH', mint: 'HZ1JovNiVvGrGNiiYvEozEVgZ58xaU3RKwX8eACQBCt3', decimals: 6 },
].map((t) => Object.freeze(t)));

const bySymbol = new Map(TOKENS.map((t) => [t.symbol.toUpperCase(), t]));
const byMint = new Map(TOKENS.map((t) => [t.mint, t]));

/** Symbols match case-insensitively (clients type "sol"); mints must match exactly because base58 is case-sensitive. */
export function resolveToken(symbolOrMint: string): Token | undefined {
  return byMint.get(symbolOrMint) ?? bySymbol.get(symbolOrMint.toUpperCase());
}

/** SPL token amounts are u64 on chain (dex-realism.md §7.1: amounts are integers in base units). */
export const U64_MAX = (1n << 64n) - 1n;

const DECIMAL_RE = /^(\d+)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;
const LEADING_DOT_RE = /^\.(\d+)(?:[eE]([+-]?\d+))?$/;

function invalid(message: string, path = 'amount'): never {
  throw new RequestError('VALIDATION_FAILED', `${path}: ${message}`, [{ path, message }]);
}

/**
 * Splits a decimal literal into integer digits and a power-of-ten exponent, exactly, so that exponent notation
 * (String(1e-7) === "1e-7") never goes through float multiplication.
 */
function toDigitsAndExponent(text: string, path = 'amount'): { digits: string; exp: number } {
  let m = DECIMAL_RE.exec(text);
  let intPart: string;
  let fracPart: string;
  let expText: string | undefined;
  if (m) {
    intPart = m[1] ?? '';
    fracPart = m[2] ?? '';
    expText = m[3];
  } else {
    m = LEADING_DOT_RE.exec(text);
    if (!m) invalid('must be a positive decimal number', path);
    intPart = '0';
    fracPart = m[1] ?? '';
    expText = m[2];
  }
  // A 6-digit exponent bound keeps "1e999999999" from allocating huge strings; such values are out of u64 range anyway.
  const exp = expText === undefined ? 0 : Number(expText);
  if (!Number.isSafeInteger(exp) || Math.abs(exp) > 1000) invalid('exponent out of range', path);
  return { digits: intPart + fracPart, exp: exp - fracPart.length };
}

/**
 * UI amount (JS number or decimal string) to base units, exactly. Numbers go through their shortest round-trip
 * decimal representation (String(n)), never through float multiplication. Trailing fractional zeros beyond the token's
 * decimals are accepted because they do not change the value ("1.50000000" USDC is exactly 1.5).
 */
export function parseUiAmount(value: number | string, token: Token): bigint {
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) invalid('must be a finite number');
    if (value <= 0) invalid('must be > 0');
    text = String(value);
  } else if (typeof value === 'string') {
    text = value;
    if (text.length === 0 || text.length > 200) invalid('must be a positive decimal number');
  } else {
    invalid('must be a number or a decimal string');
  }
  const { digits, exp } = toDigitsAndExponent(text);
  let mantissa = BigInt(digits);
  let shift = exp + token.decimals;
  // Strip trailing zeros so the precision check is on the value, not its spelling.
  while (shift < 0 && mantissa !== 0n && mantissa % 10n === 0n) {
    mantissa /= 10n;
    shift += 1;
  }
  if (mantissa === 0n) invalid('must be > 0');
  if (shift < 0) invalid(`at most ${token.decimals} decimal places for ${token.symbol}`);
  if (shift > 40) invalid('exceeds the u64 maximum');
  const base = mantissa * 10n ** BigInt(shift);
  if (base > U64_MAX) invalid('exceeds the u64 maximum');
  return base;
}

/**
 * A positive decimal (JS number through its shortest round-trip spelling, or a decimal string) as the exact ratio
 * num / 10^scale, trailing zeros stripped: how a price such as `limitPrice` enters the engine without a float.
 */
export function parsePositiveDecimal(value: number | string, path: string): { num: bigint; scale: number } {
  if (typeof value === 'number' && (!Number.isFinite(value) || value <= 0)) invalid('must be > 0', path);
  const text = String(value).trim();
  if (text.length === 0 || text.length > 64) invalid('must be a positive decimal number', path);
  const { digits, exp } = toDigitsAndExponent(text, path);
  let num = BigInt(digits);
  let shift = exp;
  while (num !== 0n && num % 10n === 0n) {
    num /= 10n;
    shift += 1;
  }
  if (num === 0n) invalid('must be > 0', path);
  // Forty digits either side are more than any price between two u64 amounts of tokens of at most 18 decimals needs.
  if (Math.abs(shift) > 40 || num.toString().length > 40) invalid('out of range', path);
  return shift >= 0 ? { num: num * 10n ** BigInt(shift), scale: 0 } : { num, scale: -shift };
}

/** Exact base units to a UI decimal string, trailing zeros trimmed ("1.5", "100", "0.000001"). */
export function formatUiAmount(base: bigint, token: Token): string {
  return formatFixed(base, token.decimals);
}

/** `value / 10^decimals` as an exact, trimmed decimal string (shared with price formatting). */
export function formatFixed(value: bigint, decimals: number): string {
  const negative = value < 0n;
  const abs = negative ? -value : value;
  if (decimals === 0) return (negative ? '-' : '') + abs.toString();
  const s = abs.toString().padStart(decimals + 1, '0');
  const intPart = s.slice(0, s.length - decimals);
  let frac = s.slice(s.length - decimals);
  let end = frac.length;
  while (end > 0 && frac.charCodeAt(end - 1) === 48) end--;
  frac = frac.slice(0, end);
  return (negative ? '-' : '') + (frac.length > 0 ? `${intPart}.${frac}` : intPart);
}

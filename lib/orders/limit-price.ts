import { formatFixed, parsePositiveDecimal, type Token } from '../tokens';

/**
 * A limit price, exact: num / 10^scale units of the counter token per unit of the asset (PROTOCOL.md price
 * convention: buy SOL with USDC -> USDC per SOL). Kept as a ratio so no float ever decides whether an order fills.
 */
export interface LimitPrice {
  num: bigint;
  scale: number;
}

export const parseLimitPrice = (value: number | string): LimitPrice => parsePositiveDecimal(value, 'limitPrice');

/** The canonical spelling ("150.5", never "1.505e2"): stored, compared for clientOrderId replays, and shown. */
export const formatLimitPrice = (price: LimitPrice): string => formatFixed(price.num, price.scale);

const pow10 = (n: number): bigint => 10n ** BigInt(n);
const ceilDiv = (a: bigint, b: bigint): bigint => (a + b - 1n) / b;

/**
 * The least output, in base units of `tokenOut`, at which spending `amountIn` (base units of `tokenIn`) is at the limit
 * price or better. Rounded up: a floored bound could accept an output one base unit short, a price worse than the
 * limit.
 * - buy (tokenIn is the counter): price = in / out <= limit  <=>  out >= in / limit;
 * - sell (tokenOut is the counter): price = out / in >= limit  <=>  out >= in x limit.
 */
export const minAmountOutForLimit = (
  order: { side: 'buy' | 'sell'; tokenIn: Token; tokenOut: Token; amountIn: bigint },
  limit: LimitPrice,
): bigint => {
  const { tokenIn, tokenOut, amountIn } = order;
  if (order.side === 'buy') {
    // out_base / 10^decOut >= (in_base / 10^decIn) x 10^scale / num
    return ceilDiv(amountIn * pow10(tokenOut.decimals) * pow10(limit.scale), limit.num * pow10(tokenIn.decimals));
  }
  // out_base / 10^decOut >= (in_base / 10^decIn) x num / 10^scale
  return ceilDiv(amountIn * limit.num * pow10(tokenOut.decimals), pow10(limit.scale) * pow10(tokenIn.decimals));
};

/** PROTOCOL.md v2 limit trigger: a buy when the route's price <= limitPrice, a sell when >= it; the same as an output at least the limit's bound. */
export const limitReached = (routeAmountOut: bigint, limitMinAmountOut: bigint): boolean => routeAmountOut >= limitMinAmountOut;

/** The stricter of the slippage bound and the limit's bound: a limit order never lands at a price worse than its limit. */
export const boundedMinAmountOut = (slippageMinAmountOut: bigint, limitMinAmountOut: bigint | undefined): bigint =>
  limitMinAmountOut !== undefined && limitMinAmountOut > slippageMinAmountOut ? limitMinAmountOut : slippageMinAmountOut;

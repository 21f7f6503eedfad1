import { routeOrder } from '../../lib/routing';
import { parseUiAmount, resolveToken, type Token } from '../../lib/tokens';

/*
 * Limit orders that the seeded market reaches a little later. The market is a pure function of the seed and the
 * clock, so a client that knows the seed (tests and the bench run the stack with the default one: call
 * setMarketSeed(DEFAULT_MOCK_SEED) first) can read the next minutes of the same prices the engine will see, and pick a
 * limit the price is away from now and reaches later. That is how the tests and the bench drive a limit order's
 * trigger without a test hook that would move the price.
 */

export interface CrossingCandidate {
  side: 'buy' | 'sell';
  tokenIn: string;
  tokenOut: string;
  amount: string;
}

export interface Crossing {
  order: CrossingCandidate & { limitPrice: string };
  /** When the route's price first reaches the limit as the engine judges it (to STEP_MS). */
  crossesAtMs: number;
}

/*
 * SOL first; JUP and RAY move apart from SOL, so one of them usually makes a new high or low that holds when SOL does
 * not (scanned over two days of the seeded market at 17-minute steps, with a 3 s hold and a 120 s horizon: SOL alone
 * gave a plan from 148 of 170 start times, with JUP and RAY from 169).
 */
export const DEFAULT_CANDIDATES: readonly CrossingCandidate[] = [
  { side: 'buy', tokenIn: 'USDC', tokenOut: 'SOL', amount: '25' },
  { side: 'sell', tokenIn: 'SOL', tokenOut: 'USDC', amount: '0.2' },
  { side: 'buy', tokenIn: 'USDC', tokenOut: 'JUP', amount: '20' },
  { side: 'sell', tokenIn: 'JUP', tokenOut: 'USDC', amount: '20' },
  { side: 'buy', tokenIn: 'USDC', tokenOut: 'RAY', amount: '20' },
  { side: 'sell', tokenIn: 'RAY', tokenOut: 'USDC', amount: '8' },
];

export const STEP_MS = 250;

/**
 * A limit order (the first candidate that has one) the market does not reach for `restsForMs` after `fromMs` and then
 * reaches within `horizonMs`, staying reached for `holdsForMs` from the moment it first gets there, so that the
 * watcher's next tick and the execution's own quote see it too. `crossesAtMs` is that first moment: the limit is
 * picked just beyond every price before it, so the market never touches the limit earlier and moves back (a touch
 * shorter than the watcher's tick may go unseen, and a trigger deadline counted from it would expire while the order
 * waits for the real crossing, as one CI run showed: a 0.75 s touch, then no trigger in 15 s).
 */
export const planCrossing = (
  fromMs: number,
  options: { horizonMs: number; restsForMs?: number; holdsForMs?: number; candidates?: readonly CrossingCandidate[]; pastBy?: number },
): Crossing | undefined => {
  const restSteps = Math.ceil((options.restsForMs ?? 6_000) / STEP_MS);
  const holdSteps = Math.ceil((options.holdsForMs ?? 3_000) / STEP_MS);
  // By default 0.05 % past the limit: room for the landing's re-pricing a slot or two later (a landing that misses on
  // price is correct behaviour, the order rests again, but a test that expects one attempt would see two).
  const pastBy = options.pastBy ?? 0.0005;
  for (const c of options.candidates ?? DEFAULT_CANDIDATES) {
    const tokenIn = resolveToken(c.tokenIn) as Token;
    const tokenOut = resolveToken(c.tokenOut) as Token;
    const spec = { side: c.side, tokenIn, tokenOut, amountIn: parseUiAmount(c.amount, tokenIn), slippageBps: 100 };
    const prices = Array.from({ length: Math.floor(options.horizonMs / STEP_MS) }, (_, k) => Number(routeOrder(spec, fromMs + k * STEP_MS).route.price));
    // Prices in the order's favour count up: a buy's are negated, so "reached" is always "at or above".
    const favour = prices.map((p) => (c.side === 'buy' ? -p : p));
    let bestBefore = Math.max(...favour.slice(0, restSteps));
    for (let k = restSteps; k + holdSteps <= favour.length; k++) {
      // The limit a hair beyond every price so far (0.02 %, far more than the 8-digit rounding): not reached before k.
      const limitPrice = limitBeyond(bestBefore, c.side);
      const limit = Number(limitPrice);
      const wellPast = (p: number): boolean => (c.side === 'buy' ? p <= limit * (1 - pastBy) : p >= limit * (1 + pastBy));
      if (prices.slice(k, k + holdSteps).every(wellPast)) return { order: { ...c, limitPrice }, crossesAtMs: fromMs + k * STEP_MS };
      bestBefore = Math.max(bestBefore, favour[k] as number);
    }
  }
  return undefined;
};

/** A limit 0.02 % beyond the best price so far (`best` in favour terms: a buy's negated), as an 8-digit decimal string. */
const limitBeyond = (best: number, side: 'buy' | 'sell'): string => {
  const price = side === 'buy' ? -best : best;
  const raw = side === 'buy' ? price * 0.9998 : price * 1.0002;
  return raw.toPrecision(8).replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '');
};

/**
 * The first time at or after `fromMs` (to STEP_MS, within `horizonMs`) at which the seeded market reaches `order`'s
 * limit as the engine judges it (a buy: the route's price at or below the limit; a sell: at or above); undefined if it
 * does not within the horizon.
 */
export const reachedAt = (order: CrossingCandidate & { limitPrice: string }, fromMs: number, horizonMs: number): number | undefined => {
  const tokenIn = resolveToken(order.tokenIn) as Token;
  const tokenOut = resolveToken(order.tokenOut) as Token;
  const spec = { side: order.side, tokenIn, tokenOut, amountIn: parseUiAmount(order.amount, tokenIn), slippageBps: 100 };
  const limit = Number(order.limitPrice);
  for (let t = fromMs; t <= fromMs + horizonMs; t += STEP_MS) {
    const price = Number(routeOrder(spec, t).route.price);
    if (order.side === 'buy' ? price <= limit : price >= limit) return t;
  }
  return undefined;
};

/**
 * The first time at or after `fromMs` (to STEP_MS, within `horizonMs`) from which the seeded market stays at or past
 * `order`'s limit for `holdsForMs` (sampled at STEP_MS); undefined if it does not within the horizon. A touch shorter
 * than the watcher's tick may fall between two ticks and rightly go unseen: a trigger-latency bound is measured from
 * a reach that lasts.
 */
export const heldFrom = (order: CrossingCandidate & { limitPrice: string }, fromMs: number, horizonMs: number, holdsForMs: number): number | undefined => {
  for (let t = fromMs; t <= fromMs + horizonMs; t += STEP_MS) {
    const reached = reachedAt(order, t, fromMs + horizonMs - t);
    if (reached === undefined) return undefined;
    let held = true;
    for (let u = reached; u < reached + holdsForMs; u += STEP_MS) {
      if (reachedAt(order, u, 0) === undefined) {
        held = false;
        t = u;
        break;
      }
    }
    if (held) return reached;
  }
  return undefined;
};

/**
 * For tests that run the engine with a clock set ahead: a limit order that rests now (its limit 0.2 % beyond the
 * route's price now) and that the market reaches, 0.4 % beyond, at `reachedAtMs`, within `horizonMs` (default 23 h,
 * inside a resting order's default 24 h life). A buy when the market falls first, else a sell when it rises: the
 * seeded market is not at its extreme in both directions for a whole day.
 */
export const planLaterCrossing = (nowMs: number, horizonMs = 23 * 3600_000): Crossing & { reachedAtMs: number; priceNow: number } => {
  for (const c of DEFAULT_CANDIDATES) {
    const tokenIn = resolveToken(c.tokenIn) as Token;
    const tokenOut = resolveToken(c.tokenOut) as Token;
    const spec = { side: c.side, tokenIn, tokenOut, amountIn: parseUiAmount(c.amount, tokenIn), slippageBps: 100 };
    const priceAt = (tMs: number): number => Number(routeOrder(spec, tMs).route.price);
    const priceNow = priceAt(nowMs);
    const beyond = (p: number, by: number): boolean => (c.side === 'buy' ? p < priceNow * (1 - by) : p > priceNow * (1 + by));
    for (let dt = 60_000; dt <= horizonMs; dt += 10_000) {
      if (beyond(priceAt(nowMs + dt), 0.004)) {
        const limitPrice = (priceNow * (c.side === 'buy' ? 0.998 : 1.002)).toPrecision(8);
        return { order: { ...c, limitPrice: String(Number(limitPrice)) }, crossesAtMs: nowMs + dt, reachedAtMs: nowMs + dt, priceNow };
      }
    }
  }
  throw new Error(`the seeded market moves less than 0.4 % either way in the ${horizonMs / 3600_000} h after ${new Date(nowMs).toISOString()}`);
};

/*
 * The seeded market has calm stretches in which no candidate makes a new high or low that holds: scanned from
 * 2026-12-03 to 2026-12-06 at 10 s steps (120 s horizon, 3 s hold), 1.6-1.8 % of start times had no plan, and the
 * longest stretch without one was 9 start times in a row (2026-12-05T00:48:50Z to 00:50:10Z). A CI run planned at
 * 2026-12-03T16:50:30Z, at the start of such a stretch, and its four tries over 30 s all came back empty.
 */
export const PLAN_AGAIN_EVERY_MS = 10_000;
export const PLAN_AGAIN_FOR_MS = 120_000;

/**
 * The first start time among fromMs, fromMs + PLAN_AGAIN_EVERY_MS, ... (up to PLAN_AGAIN_FOR_MS later) from which
 * `plan` finds a crossing, with that crossing; undefined if none does. The market is known ahead, so no waiting is
 * needed to find it: the caller waits until `startMs` and places the order then.
 */
export const firstPlannable = (fromMs: number, plan: (startMs: number) => Crossing | undefined): { startMs: number; crossing: Crossing } | undefined => {
  for (let startMs = fromMs; startMs <= fromMs + PLAN_AGAIN_FOR_MS; startMs += PLAN_AGAIN_EVERY_MS) {
    const crossing = plan(startMs);
    if (crossing) return { startMs, crossing };
  }
  return undefined;
};

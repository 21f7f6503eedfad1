import { isEngineError, type EngineError } from '../errors';
import { drawVenue5xx, quoteLatencyMs, type MockProfile } from '../chain/profile';
import { rngFor } from '../chain/rng';
import type { OrderSpec } from '../venues/route';
import { routeOrder, type RoutingResult } from './index';

/** Both venues' quotes for one attempt of an order, and the best route over them; or why there is none. */
export type QuoteOutcome = ({ ok: true; routing: RoutingResult } | { ok: false; error: EngineError }) & {
  /** Time spent on the venues' quote APIs (simulated by the mock, measured by a real client). */
  chainMs: number;
};

/** The venues' quote APIs, asked in parallel. */
export interface VenueQuoter {
  quote(order: OrderSpec, attempt: { orderId: string; attempt: number; forceVenue5xx: boolean }): Promise<QuoteOutcome>;
}

const sleep = (ms: number): Promise<void> => (ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve());

/**
 * The mock venues: the quote latency of the slower venue, a venue 5xx at the profile's rate (or when a test forces
 * it), then the route over the pools as they are now. Draws are keyed by (seed, order, attempt): replayable.
 */
export class MockVenueQuoter implements VenueQuoter {
  constructor(
    private readonly profile: MockProfile,
    private readonly seed: string,
    private readonly now: () => number = Date.now,
  ) {}

  async quote(order: OrderSpec, { orderId, attempt, forceVenue5xx }: { orderId: string; attempt: number; forceVenue5xx: boolean }): Promise<QuoteOutcome> {
    const rng = rngFor(this.seed, 'execution', orderId, attempt);
    const chainMs = quoteLatencyMs(this.profile, rng);
    await sleep(chainMs);
    try {
      const venueDown = drawVenue5xx(this.profile, rng, forceVenue5xx);
      if (venueDown) return { ok: false, error: venueDown, chainMs };
      return { ok: true, routing: routeOrder(order, this.now()), chainMs };
    } catch (error) {
      if (isEngineError(error)) return { ok: false, error, chainMs };
      throw error;
    }
  }
}

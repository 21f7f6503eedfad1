import type { PriorityFeeBid, RecentFee } from '../chain/port';
import type { PriorityFeePolicy } from './request';

/*
 * The priority fee an order bids (PROTOCOL.md v2 `priorityFee`), from the recent slots' fees as
 * getRecentPrioritizationFees gives them (https://solana.com/docs/rpc/http/getrecentprioritizationfees): a percentile
 * of them, so the bid follows the market instead of a constant that is too low in congestion and wasted in calm.
 * Pure policy: the chain port supplies the fees, the builder applies the cap to its compute-unit limit.
 */

export interface PriorityFeeSettings {
  /** `auto` bids this percentile (0-100) of the recent fees. */
  percentile: number;
  /** `auto`'s cap on the priority fee of one transaction, lamports. */
  maxLamports: number;
}

/** The nearest-rank percentile of the recent fees (0 when there are none). */
export const feeAtPercentile = (recent: readonly RecentFee[], percentile: number): number => {
  if (recent.length === 0) return 0;
  const sorted = recent.map((entry) => entry.prioritizationFee).sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((percentile / 100) * sorted.length)));
  return sorted[rank - 1] as number;
};

/** The bid for one transaction: none, or the percentile's price capped by the order's or the engine's maxLamports. */
export const priorityFeeBid = (policy: PriorityFeePolicy | undefined, recent: readonly RecentFee[], settings: PriorityFeeSettings): PriorityFeeBid => {
  if (policy === 'none') return { microLamportsPerCu: 0 };
  const microLamportsPerCu = feeAtPercentile(recent, settings.percentile);
  const maxLamports = typeof policy === 'object' ? policy.maxLamports : settings.maxLamports;
  return { microLamportsPerCu, maxLamports };
};

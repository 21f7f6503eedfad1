/**
 * The mock slot clock: pure functions of (seed, ms). Slots tick every 400 ms from a fixed genesis; about 5% of slots
 * are skipped (one per group of 20, at a seeded position), so block height < slot and both are O(1) to compute.
 */

/** Target slot time, dex-realism.md §4.2. */
export const SLOT_MS = 400;
/** Fixed genesis so every process numbers slots identically. */
export const GENESIS_MS = Date.UTC(2026, 0, 1);
/** Offsets make slot/height look like mainnet numbers (contextSlot ~3e8, §3.3 example 299283763) and keep height < slot. */
export const SLOT_OFFSET = 300_000_000;
export const BLOCK_HEIGHT_OFFSET = 280_000_000;
/** ~5% skipped slots: one in every 20, dex-realism.md §7.1 (assumption). */
const SKIP_GROUP = 20;
/** lastValidBlockHeight = block height + 150; dex-realism.md §4.3. */
export const BLOCKHASH_VALID_BLOCKS = 150;

function skipPosition(seedHash: number, group: number): number {
  let x = (seedHash ^ Math.imul(group >>> 0, 0x9e3779b9) ^ Math.imul(Math.floor(group / 4294967296), 0x85ebca6b)) >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return (x >>> 0) % SKIP_GROUP;
}

function seedHash(seed: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Slot containing ms (seed independent: slots are wall-clock driven). */
export function slotAt(ms: number): number {
  return SLOT_OFFSET + Math.max(0, Math.floor((ms - GENESIS_MS) / SLOT_MS));
}

export function slotStartMs(slot: number): number {
  return GENESIS_MS + (slot - SLOT_OFFSET) * SLOT_MS;
}

export class SlotClock {
  private readonly hash: number;

  constructor(readonly seed: string) {
    this.hash = seedHash(seed);
  }

  slotAt(ms: number): number {
    return slotAt(ms);
  }

  /** True when the leader of this slot skipped it (no block). */
  isSkipped(slot: number): boolean {
    const rel = slot - SLOT_OFFSET;
    const group = Math.floor(rel / SKIP_GROUP);
    return rel - group * SKIP_GROUP === skipPosition(this.hash, group);
  }

  /** Height of the newest block at or before `slot`. */
  blockHeightAtSlot(slot: number): number {
    const rel = slot - SLOT_OFFSET;
    const group = Math.floor(rel / SKIP_GROUP);
    const inGroup = rel - group * SKIP_GROUP;
    const skippedInGroup = inGroup >= skipPosition(this.hash, group) ? 1 : 0;
    // Produced slots in [0, rel] = rel + 1 - skipped; height counts from BLOCK_HEIGHT_OFFSET at genesis.
    return BLOCK_HEIGHT_OFFSET + rel + 1 - group - skippedInGroup - 1;
  }

  blockHeightAt(ms: number): number {
    return this.blockHeightAtSlot(slotAt(ms));
  }

  /** First slot whose block has height >= h. */
  slotOfBlockHeight(h: number): number {
    const produced = h - BLOCK_HEIGHT_OFFSET + 1;
    let slot = SLOT_OFFSET + Math.max(0, Math.floor(((produced - 1) * SKIP_GROUP) / (SKIP_GROUP - 1)) - 2);
    while (this.blockHeightAtSlot(slot) < h) slot++;
    return slot;
  }

  /** Milliseconds from fromMs until the chain reaches block height h (0 if already reached). */
  msUntilBlockHeight(h: number, fromMs: number): number {
    const slot = this.slotOfBlockHeight(h);
    return Math.max(0, slotStartMs(slot) - fromMs);
  }
}

const clocks = new Map<string, SlotClock>();

export function clockFor(seed: string): SlotClock {
  let c = clocks.get(seed);
  if (!c) {
    c = new SlotClock(seed);
    clocks.set(seed, c);
  }
  return c;
}

export const DEFAULT_CHAIN_SEED = 'solana-mock-chain-v1';

export function blockHeightAt(ms: number, seed: string = DEFAULT_CHAIN_SEED): number {
  return clockFor(seed).blockHeightAt(ms);
}

export function msUntilBlockHeight(h: number, fromMs: number, seed: string = DEFAULT_CHAIN_SEED): number {
  return clockFor(seed).msUntilBlockHeight(h, fromMs);
}

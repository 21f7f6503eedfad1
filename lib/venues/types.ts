/** Pools are stored as (base, quote); base is the coin / DLMM token X, quote the pc / DLMM token Y. */
export type SwapDirection = 'baseToQuote' | 'quoteToBase';

/** Program ids, dex-realism.md §1.1 and §2.1: failures are identified by (programId, code), §0 fact 7. */
export const RAYDIUM_AMM_V4_PROGRAM_ID = '675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8';
export const RAYDIUM_CPMM_PROGRAM_ID = 'CPMMoo8L3F4NbTegBCKVNunggL7H1ZpdTHKxQB5qKP1C';
export const METEORA_DLMM_PROGRAM_ID = 'LBUZKhRxPF3XUpBCjp4YzTKgLccjZhTSDM9YuVaPwxo';

export const ceilDiv = (a: bigint, b: bigint): bigint => (a + b - 1n) / b;

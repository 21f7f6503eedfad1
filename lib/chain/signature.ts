import { createHash } from 'node:crypto';
import bs58 from 'bs58';

/**
 * Transaction id = base58 of a 64-byte signature (dex-realism.md §4.1: 87-88 chars, never 0x hex). Derived from
 * (seed, orderId, attempt, blockhash) with SHA-512, standing in for Ed25519 over the message: a redelivered attempt
 * re-signs the same message to the same signature, and a retry with a fresh blockhash gets a new one.
 */
export function transactionSignature(seed: string, orderId: string, attempt: number, blockhash: string): string {
  const digest = createHash('sha512').update(`tx-signature\u001f${seed}\u001f${orderId}\u001f${attempt}\u001f${blockhash}`).digest();
  return bs58.encode(digest);
}

/** Blockhash of a slot: base58 of 32 bytes (dex-realism.md §7.1). */
export function blockhashForSlot(seed: string, slot: number): string {
  const digest = createHash('sha256').update(`blockhash\u001f${seed}\u001f${slot}`).digest();
  return bs58.encode(digest);
}


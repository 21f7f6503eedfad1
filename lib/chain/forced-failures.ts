/**
 * Failures a test may force on a given attempt of an order (only when MOCK_TEST_HOOKS is on). A leaf module: request
 * validation reads it without loading the mock chain.
 */
export const FORCEABLE_FAILURES = ['RPC_TIMEOUT', 'BLOCKHASH_EXPIRED', 'SLIPPAGE_EXCEEDED', 'VENUE_5XX', 'AMBIGUOUS_TIMEOUT'] as const;
export type ForcedFailure = (typeof FORCEABLE_FAILURES)[number];

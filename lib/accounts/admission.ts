import type { EngineConfig } from '../config';
import type { EngineContext } from '../engine';
import type { BucketKey, BucketStep, LimitsState } from '../aws/limits-table';
import { RequestError, UnavailableError } from '../errors';
import { retryTransient } from '../aws/transient';
import { log } from '../log';

/*
 * Admission control (PROTOCOL.md v2 "Admission control"): per account, an `execute` token bucket, a `quote` token
 * bucket, a cap on open orders and one on connections; per connection, a message bucket counting every route.
 *
 * The state lives in DynamoDB, one item per account (lib/aws/limits-table.ts), so every Lambda instance sees the same
 * buckets. A message costs one conditional UpdateItem on that item, whatever it is charged to: its connection's
 * message bucket, and for a valid `execute` also the order bucket and an open-order slot, or for a valid `quote` the
 * quote bucket. That is the one DynamoDB round trip admission adds to the `execute` ack path.
 *
 * A process keeps what it last read of each account, only as a hint: it refuses without a round trip what the table
 * would certainly refuse (a bucket's tat never decreases, so a tat seen too far ahead is at least that far ahead now).
 * It never admits anything on its own.
 */

/**
 * A token bucket as GCRA: one request per interval on average, up to `burst` at once after a quiet spell.
 * Times are whole microseconds since the epoch (about 2^51 today, exact in a double and in DynamoDB's decimals), so the
 * comparisons are exact: at epoch magnitude a fractional millisecond interval would round, and a bucket of 2 could
 * refuse its second request. The interval is rounded up to the microsecond, so the rate is never exceeded.
 */
export interface TokenBucket {
  perSecond: number;
  burst: number;
  intervalUs: number;
  /** How far ahead of now the theoretical arrival time may be: (burst - 1) intervals. */
  toleranceUs: number;
}

/** `perSecond` 0 is no limit (undefined). */
export const tokenBucket = (perSecond: number, burst: number): TokenBucket | undefined => {
  if (!(perSecond > 0)) return undefined;
  const intervalUs = Math.max(1, Math.ceil(1_000_000 / perSecond));
  const size = Math.max(1, Math.floor(burst));
  return { perSecond, burst: size, intervalUs, toleranceUs: (size - 1) * intervalUs };
};

/** Milliseconds (a clock's reading) to the buckets' whole microseconds. */
export const microsOf = (ms: number): number => Math.round(ms * 1000);

/** `tat`: the theoretical arrival time after this request, in microseconds. */
export type GcraOutcome = { admitted: true; tat: number } | { admitted: false; retryAfterMs: number };

/**
 * The generic cell rate algorithm, the decision LimitsTable.admit's conditional write makes (with raiseIdleBuckets
 * for the first case, since DynamoDB has no max()):
 * - no tat, or tat in the past: the bucket is full; admit, tat = now + interval;
 * - tat - now <= tolerance: admit, tat = tat + interval;
 * - otherwise refuse; it would be admitted once tat - tolerance is reached.
 * Over any window of t it admits at most burst + t / interval requests, and a refused request changes nothing.
 */
export const gcra = (bucket: TokenBucket, tat: number | undefined, nowMs: number): GcraOutcome => {
  const now = microsOf(nowMs);
  if (tat === undefined || tat < now) return { admitted: true, tat: now + bucket.intervalUs };
  if (tat - now <= bucket.toleranceUs) return { admitted: true, tat: tat + bucket.intervalUs };
  return { admitted: false, retryAfterMs: retryAfterMsOf(bucket, tat, nowMs) };
};

/** Whole milliseconds (at least 1) until a bucket at `tat` admits again. */
export const retryAfterMsOf = (bucket: TokenBucket, tat: number, nowMs: number): number =>
  Math.max(1, Math.ceil((tat - bucket.toleranceUs - microsOf(nowMs)) / 1000));

/** The deployment's limits (README "Limits"); undefined is no limit. */
export interface AdmissionLimits {
  orders: TokenBucket | undefined;
  quotes: TokenBucket | undefined;
  messages: TokenBucket | undefined;
  /** 0: no limit. */
  openOrders: number;
  connections: number;
}

export const limitsOf = (config: EngineConfig): AdmissionLimits => ({
  orders: tokenBucket(config.LIMIT_ORDERS_PER_SECOND, config.LIMIT_ORDERS_BURST),
  quotes: tokenBucket(config.LIMIT_QUOTES_PER_SECOND, config.LIMIT_QUOTES_BURST),
  messages: tokenBucket(config.LIMIT_MESSAGES_PER_SECOND, config.LIMIT_MESSAGES_BURST),
  openOrders: config.LIMIT_OPEN_ORDERS,
  connections: config.LIMIT_CONNECTIONS,
});

/** What a message is charged to, besides its connection's message bucket. */
export type Charge = 'order' | 'quote' | 'message';

const LABEL: Record<BucketKey, string> = { orders: 'orders', quotes: 'quotes', messages: 'messages on this connection' };
const describe = (key: BucketKey, bucket: TokenBucket): string => `${LABEL[key]}: ${bucket.perSecond}/s, burst ${bucket.burst}`;

/** No way to know when an open order will end; a typical execution takes a second or two. */
export const OPEN_ORDERS_RETRY_AFTER_MS = 1_000;

const rateLimited = (refusals: Array<{ key: BucketKey; bucket: TokenBucket; retryAfterMs: number }>): RequestError => {
  const retryAfterMs = Math.max(...refusals.map((refusal) => refusal.retryAfterMs));
  const limits = refusals.map((refusal) => describe(refusal.key, refusal.bucket));
  return new RequestError(
    'RATE_LIMITED',
    `over the limit of ${limits.join('; ')}; nothing was done, retry after ${retryAfterMs} ms`,
    refusals.map((refusal) => ({ path: '', message: `limit ${describe(refusal.key, refusal.bucket)}` })),
    { retryAfterMs },
  );
};

const tooManyOpenOrders = (max: number): RequestError =>
  new RequestError(
    'RATE_LIMITED',
    `the account has ${max} open orders, its limit; nothing was done, retry once one of them is confirmed or failed`,
    [{ path: '', message: `limit open orders: ${max}` }],
    { retryAfterMs: OPEN_ORDERS_RETRY_AFTER_MS },
  );

/*
 * Writes in flight. A flood arrives faster than the table answers, and the hints only learn from answers: without
 * more, every message of a flood is a write, DynamoDB Local serialises them, and every account waits behind that
 * queue (measured: 500 messages/s from one account left another account's orders unanswered for 40 s). So a request
 * counts the writes of its account in flight as if each will be admitted, and one that even this prediction refuses
 * is refused at once (RATE_LIMITED, with the wait the prediction gives), without a write. A Lambda instance on AWS
 * serves one request at a time, so there nothing is ever in flight beside it.
 *
 * Only the writes begun since the last answer on a bucket are counted. One begun before it may already be in the tat
 * that answer brought (the table applied it first, its own answer is still on its way): counting it again refused the
 * tenth order of a burst of ten on a loaded machine. A write begun after an answer arrived reached the table after
 * the write that answer is for, so it cannot be in the tat. The prediction can therefore only under-count, which
 * costs a write the table refuses, never a refusal within the burst.
 *
 * Refused requests used to wait up to 1 s for the writes in flight to land and decide again: under a flood of 500
 * messages/s that kept about 450 requests waiting at any moment, each woken by every landing, and that work alone
 * delayed every other account's acknowledgements on the shared host (npm run bench -- --mode flood).
 */
class InFlight {
  /** Per key: the writes in flight, by the answer epoch they began in. */
  private readonly writes = new Map<string, Map<number, number>>();
  /** Per key with writes in flight: how many answers have arrived since the first of them began. */
  private readonly epochs = new Map<string, number>();

  /** Every write in flight on `key`. */
  of(key: string): number {
    let total = 0;
    for (const count of this.writes.get(key)?.values() ?? []) total += count;
    return total;
  }

  /** The writes in flight on `key` begun since its last answer: none of them can be in what that answer said. */
  unseen(key: string): number {
    return this.writes.get(key)?.get(this.epochs.get(key) ?? 0) ?? 0;
  }

  /** An answer on `keys` arrived (it carries the tats as the table then held them). */
  answered(keys: string[]): void {
    for (const key of keys) if (this.epochs.has(key)) this.epochs.set(key, (this.epochs.get(key) as number) + 1);
  }

  begin(keys: string[]): () => void {
    const began = keys.map((key) => {
      const epoch = this.epochs.get(key) ?? 0;
      this.epochs.set(key, epoch);
      const byEpoch = this.writes.get(key) ?? new Map<number, number>();
      byEpoch.set(epoch, (byEpoch.get(epoch) ?? 0) + 1);
      this.writes.set(key, byEpoch);
      return { key, epoch };
    });
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      for (const { key, epoch } of began) {
        const byEpoch = this.writes.get(key);
        if (!byEpoch) continue;
        const left = (byEpoch.get(epoch) ?? 0) - 1;
        if (left > 0) byEpoch.set(epoch, left);
        else byEpoch.delete(epoch);
        if (byEpoch.size === 0) {
          this.writes.delete(key);
          this.epochs.delete(key);
        }
      }
    };
  }
}

/* What this process last read of each account (hints only; see the top of this file). Bounded, oldest evicted. */
interface KnownAccount {
  orders?: number;
  quotes?: number;
  connections: Map<string, number>;
  inFlight: InFlight;
  /** Requests waiting for a turn at the store (lib/accounts/store-turns.ts), per flight key. */
  queued: Map<string, number>;
}
const KNOWN_LIMIT = 10_000;
/** Connections remembered per account (their $disconnect usually runs in another instance, which cannot forget them here). */
const KNOWN_CONNECTIONS_LIMIT = 1_000;
const known = new Map<string, KnownAccount>();

const knownAccount = (owner: string): KnownAccount => {
  let account = known.get(owner);
  if (!account) {
    if (known.size >= KNOWN_LIMIT) known.delete(known.keys().next().value as string);
    account = { connections: new Map(), inFlight: new InFlight(), queued: new Map() };
    known.set(owner, account);
  }
  return account;
};

const knownTat = (account: KnownAccount, key: BucketKey, connectionId: string): number | undefined =>
  key === 'messages' ? account.connections.get(connectionId) : account[key];

/**
 * Keeps the larger of what was known and what the table said: tats only grow, so both are lower bounds (answers of
 * concurrent requests arrive in any order, and an older one must not hide a newer one).
 */
const remember = (account: KnownAccount, state: LimitsState, connectionId: string): void => {
  const larger = (known: number | undefined, read: number | undefined) => (read === undefined ? known : Math.max(known ?? read, read));
  account.orders = larger(account.orders, state.orderTat);
  account.quotes = larger(account.quotes, state.quoteTat);
  const connection = larger(account.connections.get(connectionId), state.connectionTats[connectionId]);
  if (connection === undefined) return;
  if (!account.connections.has(connectionId) && account.connections.size >= KNOWN_CONNECTIONS_LIMIT) {
    account.connections.delete(account.connections.keys().next().value as string);
  }
  account.connections.set(connectionId, connection);
};

const stateTat = (state: LimitsState, key: BucketKey, connectionId: string): number | undefined =>
  key === 'messages' ? state.connectionTats[connectionId] : key === 'orders' ? state.orderTat : state.quoteTat;

const ADMIT_BUDGET_MS = 3_000;
/** Writes that wait out a stamp skew (below) before answering RATE_LIMITED. A wrong idle belief costs one write more. */
const MAX_ADMISSION_WRITES = 3;
/*
 * Concurrent writes reach the table in another order than their timestamps were taken (an event loop, or two
 * instances' clocks). A write stamped a little before one that landed first can find the bucket ahead of its own
 * `now` by that little: refused by the item, though the request is within the burst the client was promised
 * (measured: the tenth order of a burst of 10 refused with retryAfterMs 1). A refusal this close to admission waits
 * it out and writes again instead of answering RATE_LIMITED.
 */
const STAMP_SKEW_MS = 100;

/** What the admission reserved, which the caller must give back if the request ends up creating nothing. */
export interface Admission {
  openOrderReserved: boolean;
}

/**
 * Admits one message of `connectionId` (owned by `owner`), charged to `charge`, or throws: RATE_LIMITED with
 * `retryAfterMs` when a limit refuses it (nothing is charged then), FORBIDDEN when the connection is not registered,
 * UNAVAILABLE when the table cannot be written in time. An HTTP request has no connection (`connectionId` undefined):
 * it is charged to the account's buckets and open-order cap only, there being no connection message bucket to charge.
 */
/** The buckets a request charges: its connection's messages (none over HTTP), and its order or quote bucket. */
const bucketsOf = (limits: AdmissionLimits, params: { connectionId: string | undefined; charge: Charge }): Array<{ key: BucketKey; bucket: TokenBucket }> => {
  const buckets: Array<{ key: BucketKey; bucket: TokenBucket }> = [];
  if (limits.messages && params.connectionId !== undefined) buckets.push({ key: 'messages', bucket: limits.messages });
  if (params.charge === 'order' && limits.orders) buckets.push({ key: 'orders', bucket: limits.orders });
  if (params.charge === 'quote' && limits.quotes) buckets.push({ key: 'quotes', bucket: limits.quotes });
  return buckets;
};

/** The key a bucket's writes (and queued requests) are counted under in this process. */
const flightKeyOf = (key: BucketKey, connectionId: string): string => (key === 'messages' ? `c#${connectionId}` : key);

/**
 * A request about to wait for a turn at the store (lib/accounts/store-turns.ts). Each request waiting
 * ahead of it will charge the same buckets first, like a write in flight: if, counting those and the writes in
 * flight, this one would be refused anyway, it is refused now (RATE_LIMITED, from this process's hints, no write),
 * rather than after waiting. Otherwise it is counted as waiting until the returned function is called (its turn came,
 * or it gave up). Measured with `npm run bench -- --mode flood`: without this, a flood's requests waited out the turns'
 * budget and were answered UNAVAILABLE, where their rate is what refuses them.
 */
export const queueForAdmission = (ctx: EngineContext, params: { owner: string; connectionId: string | undefined; charge: Charge }): (() => void) => {
  const connectionId = params.connectionId ?? '';
  const buckets = bucketsOf(limitsOf(ctx.config), params);
  const account = knownAccount(params.owner);
  const nowMs = ctx.now();
  const refusals = buckets.flatMap(({ key, bucket }) => {
    const flightKey = flightKeyOf(key, connectionId);
    const ahead = account.inFlight.unseen(flightKey) + (account.queued.get(flightKey) ?? 0);
    const predicted = Math.max(knownTat(account, key, connectionId) ?? 0, microsOf(nowMs)) + ahead * bucket.intervalUs;
    const verdict = gcra(bucket, predicted, nowMs);
    return verdict.admitted ? [] : [{ key, bucket, retryAfterMs: verdict.retryAfterMs }];
  });
  if (refusals.length > 0) throw rateLimited(refusals);
  const keys = buckets.map(({ key }) => flightKeyOf(key, connectionId));
  for (const key of keys) account.queued.set(key, (account.queued.get(key) ?? 0) + 1);
  let done = false;
  return () => {
    if (done) return;
    done = true;
    for (const key of keys) {
      const left = (account.queued.get(key) ?? 0) - 1;
      if (left > 0) account.queued.set(key, left);
      else account.queued.delete(key);
    }
  };
};

export const admit = async (ctx: EngineContext, params: { owner: string; connectionId: string | undefined; charge: Charge }): Promise<Admission> => {
  const { owner, charge } = params;
  // No connection id can be empty (API Gateway's are 16 characters): '' never names a message bucket below.
  const connectionId = params.connectionId ?? '';
  const limits = limitsOf(ctx.config);
  const buckets = bucketsOf(limits, params);
  const reserveOpenOrder = charge === 'order' && limits.openOrders > 0;
  if (buckets.length === 0 && !reserveOpenOrder) return { openOrderReserved: false };

  const account = knownAccount(owner);
  const flightKey = (key: BucketKey): string => flightKeyOf(key, connectionId);
  const deadlineMs = Date.now() + ADMIT_BUDGET_MS;
  const nowMs = ctx.now();
  const judged = buckets.map(({ key, bucket }) => {
    const tat = knownTat(account, key, connectionId);
    const inFlight = account.inFlight.unseen(flightKey(key));
    // As if every write in flight were admitted: a bucket's tat moves one interval per admission.
    const predicted = inFlight === 0 ? tat : Math.max(tat ?? 0, microsOf(nowMs)) + inFlight * bucket.intervalUs;
    return { key, bucket, certain: gcra(bucket, tat, nowMs), predicted: gcra(bucket, predicted, nowMs) };
  });
  const certain = judged.flatMap(({ key, bucket, certain }) => (certain.admitted ? [] : [{ key, bucket, retryAfterMs: certain.retryAfterMs }]));
  if (certain.length > 0) throw rateLimited(certain);
  const predicted = judged.flatMap(({ key, bucket, predicted }) => (predicted.admitted ? [] : [{ key, bucket, retryAfterMs: predicted.retryAfterMs }]));
  if (predicted.length > 0) throw rateLimited(predicted);
  // Idle by the hints and no other write in flight on it: written in the one-write form for an idle bucket.
  const believedIdle = new Set(
    judged.filter(({ key }) => account.inFlight.of(flightKey(key)) === 0 && (knownTat(account, key, connectionId) ?? 0) < microsOf(nowMs)).map(({ key }) => key),
  );
  const landed = account.inFlight.begin(buckets.map(({ key }) => flightKey(key)));
  try {
    return await admitByWrite(ctx, { owner, connectionId, account, buckets, limits, reserveOpenOrder, deadlineMs, believedIdle, flightKeys: buckets.map(({ key }) => flightKey(key)) });
  } finally {
    landed();
  }
};

const admitByWrite = async (
  ctx: EngineContext,
  params: {
    owner: string;
    connectionId: string;
    account: KnownAccount;
    buckets: Array<{ key: BucketKey; bucket: TokenBucket }>;
    limits: AdmissionLimits;
    reserveOpenOrder: boolean;
    deadlineMs: number;
    believedIdle: ReadonlySet<BucketKey>;
    /** The keys this request's writes are counted under in `account.inFlight`. */
    flightKeys: string[];
  },
): Promise<Admission> => {
  const { owner, connectionId, account, buckets, limits, reserveOpenOrder } = params;

  // One write decides (LimitsTable.admit): each concurrent request is judged by the item as it is when written.
  const believedIdle = new Set(params.believedIdle);
  let recounted = false;
  for (let attempt = 1; ; attempt++) {
    const writeAtMs = ctx.now();
    const steps: BucketStep[] = buckets.map(({ key, bucket }) => ({
      key,
      intervalUs: bucket.intervalUs,
      toleranceUs: bucket.toleranceUs,
      idle: believedIdle.has(key),
    }));
    const written = await retryTransient(
      () => ctx.limits.admit(owner, { nowUs: microsOf(writeAtMs), connectionId, steps, ...(reserveOpenOrder ? { openOrdersMax: limits.openOrders } : {}) }),
      { deadlineMs: params.deadlineMs },
    );
    if (!written.ok) throw new UnavailableError('the engine is over capacity; nothing was recorded', { cause: written.error });
    const { state } = written.value;
    remember(account, state, connectionId);
    account.inFlight.answered(params.flightKeys);
    if (written.value.ok) {
      // A bucket idle beyond what the hints said kept its old tat plus one interval: raise it to now, no credit stored.
      const idle = steps.filter(({ key, idle }) => {
        const tat = stateTat(state, key, connectionId);
        return !idle && tat !== undefined && tat < microsOf(writeAtMs);
      });
      if (idle.length > 0) {
        await ctx.limits
          .raiseIdleBuckets(owner, { nowUs: microsOf(writeAtMs), connectionId, steps: idle })
          .catch((error: unknown) => log.warn('could not raise an idle bucket', { owner, error }));
      }
      return { openOrderReserved: reserveOpenOrder };
    }

    // Refused: the item as it was says exactly why.
    if (buckets.some(({ key }) => key === 'messages') && state.connectionTats[connectionId] === undefined) {
      throw new RequestError('FORBIDDEN', 'this connection is not registered (it may predate this deployment); reconnect');
    }
    const refusals = buckets
      .map(({ key, bucket }) => ({ key, bucket, tat: stateTat(state, key, connectionId) }))
      .filter(({ bucket, tat }) => tat !== undefined && tat > microsOf(writeAtMs) + bucket.toleranceUs)
      // The wait counts from the answer, not the stamp: a write that was slow to land has already waited that long.
      .map(({ key, bucket, tat }) => ({ key, bucket, retryAfterMs: retryAfterMsOf(bucket, tat as number, Math.max(writeAtMs, ctx.now())) }));
    if (refusals.length > 0) {
      const waitMs = Math.max(...refusals.map((refusal) => refusal.retryAfterMs));
      if (waitMs > STAMP_SKEW_MS || attempt >= MAX_ADMISSION_WRITES || Date.now() + waitMs >= params.deadlineMs) throw rateLimited(refusals);
      for (const { key } of refusals) believedIdle.delete(key);
      await sleepFully(waitMs);
      continue;
    }
    if (reserveOpenOrder && (state.openOrders ?? 0) >= limits.openOrders) {
      // At the cap: a count that lost a give-back is corrected first (at most once per request), then written again.
      if (!recounted && (await recountOpenOrders(ctx, owner, state))) {
        recounted = true;
        continue;
      }
      throw tooManyOpenOrders(limits.openOrders);
    }
    // Not over a limit, so a bucket believed idle was not (another request charged it). Every bucket is written again
    // in the additive form, which fails only for a reason the item shows (over a limit, not registered, at the cap):
    // this costs at most one more write, whatever the attempts before it were spent on.
    if (believedIdle.size === 0) {
      throw new UnavailableError('the limits item refused the request for no reason it shows; nothing was recorded', { retryAfterMs: 100 });
    }
    believedIdle.clear();
  }
};

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits at least `ms` by the wall clock. A timer counts from the event loop's cached time, which on a busy loop lags
 * the clock: it can fire early by as much, and a write made then was refused again for the same few milliseconds.
 */
const sleepFully = async (ms: number): Promise<void> => {
  const untilMs = Date.now() + ms;
  for (let left = ms; left > 0; left = untilMs - Date.now()) await sleep(left);
};

/** Gives back an open-order slot. Best effort: never fails the caller (a lost release only makes the count stricter). */
export const releaseOpenOrder = async (ctx: EngineContext, owner: string): Promise<void> => {
  if (ctx.config.LIMIT_OPEN_ORDERS === 0) return;
  await ctx.limits.releaseOpenOrder(owner, microsOf(ctx.now())).catch((error: unknown) => log.warn('could not release an open-order slot', { owner, error }));
};

/*
 * The open-order recount. The count is kept by writes (+1 at admission, -1 at the terminal write), and a write can be
 * lost: a Lambda dies between an order's terminal write and its give-back, or an UNAVAILABLE answer reserved a slot for
 * an order that was never recorded. Each such loss leaves the account one slot short for good. So when an account is
 * refused at its cap, its non-terminal orders are counted on the `openByOwner` index and the count set to that, in a
 * write conditional on the count not having moved since it was read.
 * - Only a count that has been still for OPEN_ORDERS_STILL_MS is recounted: an admission in flight has reserved its
 *   slot before its order is written, and an index shows a write a moment late (on AWS, GSIs are eventually
 *   consistent), so a count that just moved may be right where the index is not yet.
 * - At most one recount per account per OPEN_ORDERS_RECOUNT_EVERY_MS, claimed by a conditional write: an account that
 *   really is at its cap, and keeps asking, costs one index query per interval, not one per refusal.
 * What it cannot see: a give-back delayed past the still period (it lands after the correction, one too low), and
 * orders recorded before the index existed (not on it, so not counted).
 */
const OPEN_ORDERS_STILL_MS = 10_000;
const OPEN_ORDERS_RECOUNT_EVERY_MS = 30_000;

/**
 * Recounts the owner's open orders if `observed` (the item that refused at the cap) allows. True when the caller should
 * write again: slots were freed, or the count moved under the recount.
 */
export const recountOpenOrders = async (ctx: EngineContext, owner: string, observed: LimitsState): Promise<boolean> => {
  const nowMs = ctx.now();
  try {
    const claimed = await ctx.limits.claimOpenOrderRecount(owner, {
      observed,
      nowUs: microsOf(nowMs),
      everyUs: OPEN_ORDERS_RECOUNT_EVERY_MS * 1000,
      stillSinceUs: microsOf(nowMs - OPEN_ORDERS_STILL_MS),
    });
    if (!claimed) return false;
    const counted = await ctx.orderListing.countOpen(owner);
    if (counted === observed.openOrders) return false;
    const corrected = await ctx.limits.correctOpenOrders(owner, { observed, counted, nowUs: microsOf(ctx.now()) });
    if (!corrected) return true; // The count moved meanwhile (a give-back, an admission): the caller writes again.
    log.warn('open-order count corrected by a recount', { owner, counted: observed.openOrders, open: counted });
    return counted < (observed.openOrders ?? 0);
  } catch (error) {
    log.warn('could not recount open orders; the count stands', { owner, error });
    return false;
  }
};

/*
 * Connections. The account item counts them and registers each one (`c#<connectionId>`, also its message bucket).
 * $disconnect is best effort on AWS and a Lambda can die between the two writes of a connect or a disconnect, so a
 * registration can outlive its connection. Repair: when an account reaches its cap, the registrations idle for longer
 * than REGISTRATION_GRACE_MS are checked against the connections table (consistent BatchGetItem); those without a
 * live row (deleted by $disconnect or by a 410 from the Management API, or past their 2 h TTL) are removed and the
 * counter is set to what remains, in one conditional write. The grace keeps a connect in progress (registered, row
 * not yet written) from being taken for a closed one.
 */
const REGISTRATION_GRACE_MS = 30_000;
/** At most this many registrations removed per repair write (the expression's size). */
const PRUNE_BATCH = 50;

/** Registers a connection of `owner` under the account's cap; false when the account is at its cap. */
export const registerConnection = async (ctx: EngineContext, owner: string, connectionId: string): Promise<boolean> => {
  const max = ctx.config.LIMIT_CONNECTIONS;
  const first = await ctx.limits.registerConnection(owner, connectionId, microsOf(ctx.now()), max);
  if (first.ok) return true;
  if (!(await pruneClosedConnections(ctx, owner, first.state))) return false;
  return (await ctx.limits.registerConnection(owner, connectionId, microsOf(ctx.now()), max)).ok;
};

/** The repair above; true when it found closed connections (removed, or the item changed meanwhile: read it again). */
export const pruneClosedConnections = async (ctx: EngineContext, owner: string, observed: LimitsState): Promise<boolean> => {
  const idleBeforeUs = microsOf(ctx.now() - REGISTRATION_GRACE_MS);
  const candidates = Object.entries(observed.connectionTats)
    .filter(([, tat]) => tat < idleBeforeUs)
    .map(([connectionId]) => connectionId);
  if (candidates.length === 0) return false;
  const live = await ctx.connections.liveIds(candidates, ctx.now());
  const closed = candidates.filter((connectionId) => !live.has(connectionId)).slice(0, PRUNE_BATCH);
  if (closed.length === 0) return false;
  const pruned = await ctx.limits.pruneConnections(owner, { closed, observed, idleBeforeUs });
  if (pruned) log.info('removed registrations of closed connections', { owner, count: closed.length });
  return true;
};

/** Uncounts a connection that closed (or whose connect could not finish). Best effort. */
export const releaseConnection = async (ctx: EngineContext, owner: string, connectionId: string): Promise<void> => {
  knownAccount(owner).connections.delete(connectionId);
  await ctx.limits.releaseConnection(owner, connectionId).catch((error: unknown) => log.warn('could not release a connection', { owner, connectionId, error }));
};

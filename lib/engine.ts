/*
 * The composition root: everything a use case needs, built from the parsed configuration, once per function.
 */
import { config, type EngineConfig } from './config';
import { AccountsTable } from './aws/accounts-table';
import { ConnectionsTable } from './aws/connections-table';
import { OrdersTable } from './aws/orders-table';
import { OrderListing } from './aws/order-listing';
import { LedgerTable } from './aws/ledger-table';
import { StoreTurns } from './accounts/store-turns';
import { LimitsTable } from './aws/limits-table';
import { ConfigError } from './errors';
import { createAwsClients, type AwsClients } from './aws/clients';
import { Queues } from './aws/queues';
import { ConnectionsApi } from './aws/connections-api';
import { Notifier } from './notify/notifier';
import { MockCluster } from './chain/cluster';
import type { ChainPort } from './chain/port';
import { MockVenueQuoter, type VenueQuoter } from './routing/quoter';
import { mockProfile, type MockProfile } from './chain/profile';
import { setLogLevel } from './log';
import { setMarketSeed } from './venues/market';
import { LaunchBook } from './chain/launches';
import { LaunchStoreTable } from './aws/launch-store';

/** Everything a use case needs, built once per process from the parsed configuration. */
export interface EngineContext {
  config: EngineConfig;
  accounts: AccountsTable;
  connections: ConnectionsTable;
  orders: OrdersTable;
  /** An owner's orders, newest first, from the orders table's indexes (`orders`). */
  orderListing: OrderListing;
  ledger: LedgerTable;
  /** This process's turns at the store for route work, fair across accounts (shared by every function it runs). */
  storeTurns: StoreTurns;
  /** Admission control's per-account state (lib/accounts/admission.ts). */
  limits: LimitsTable;
  queues: Queues;
  notifier: Notifier;
  profile: MockProfile;
  /** The venues' quote APIs. */
  quoter: VenueQuoter;
  /** The Solana cluster, as an RPC client sees it. */
  chain: ChainPort;
  /** Pool launches on the mock chain (lib/chain/launches.ts): the schedule, mockLaunch, creation events. */
  launches: LaunchBook;
  now: () => number;
}

export interface EngineContextOptions {
  now?: () => number;
  /** The clients every adapter of this context shares; by default a set of its own, with `maxSockets` per endpoint. */
  aws?: AwsClients;
  /** Default AWS_MAX_SOCKETS. */
  maxSockets?: number;
}

export const createEngineContext = (config: EngineConfig, options: EngineContextOptions = {}): EngineContext => {
  const now = options.now ?? Date.now;
  const aws = options.aws ?? createAwsClients({ maxSockets: options.maxSockets ?? config.AWS_MAX_SOCKETS });
  setLogLevel(config.LOG_LEVEL);
  // Routing and landing must price on the same market in every process: it is a function of the seed and the clock.
  setMarketSeed(config.MOCK_SEED);
  const orders = new OrdersTable(config.ORDERS_TABLE, aws.dynamo);
  const connections = new ConnectionsTable(config.CONNECTIONS_TABLE, aws.dynamo);
  const ledger = new LedgerTable(config.LEDGER_TABLE, aws.dynamo);
  if (!config.LIMITS_TABLE) throw new ConfigError('Invalid configuration: LIMITS_TABLE is required');
  const profile = mockProfile(config.MOCK_PROFILE, { failureRates: config.MOCK_FAILURE_RATES });
  const queues = new Queues(aws.sqs);
  return {
    config,
    accounts: new AccountsTable(config.ACCOUNTS_TABLE, aws.dynamo),
    connections,
    orders,
    orderListing: new OrderListing(config.ORDERS_TABLE, aws.dynamo),
    ledger,
    limits: new LimitsTable(config.LIMITS_TABLE, aws.dynamo),
    notifier: new Notifier({
      statusQueueName: config.STATUS_QUEUE_NAME,
      fixedEndpoint: config.WS_MGMT_ENDPOINT,
      orders,
      connections,
      queues,
      connectionsApi: new ConnectionsApi(aws.managementApi),
    }),
    queues,
    profile,
    quoter: new MockVenueQuoter(profile, config.MOCK_SEED, now),
    chain: new MockCluster({ ledger, profile, seed: config.MOCK_SEED, now, marketSeed: config.MOCK_SEED }),
    launches: new LaunchBook({ seed: config.MOCK_SEED, store: new LaunchStoreTable(config.LEDGER_TABLE, aws.dynamo), now }),
    storeTurns: processStoreTurns(config.ROUTE_STORE_CONCURRENCY),
    now,
  };
};

/** One set of turns per capacity in a process: every function of the embedded host takes its turns from the same set. */
const turnsByCapacity = new Map<number, StoreTurns>();
const processStoreTurns = (capacity: number): StoreTurns => {
  let turns = turnsByCapacity.get(capacity);
  if (!turns) {
    turns = new StoreTurns({ capacity, waitBudgetMs: TURN_WAIT_BUDGET_MS, maxWaiting: TURN_MAX_WAITING });
    turnsByCapacity.set(capacity, turns);
  }
  return turns;
};
/*
 * A wait for a turn replaces the wait that the store's own queue used to impose on a burst, and a burst within the
 * accounts' limits must not be refused for it: the embedded stack's first 500-order burst after start (500 orders over
 * 10 accounts) waited up to 10 s (`npm run bench -- --mode burst --orders 500 --connections 20`, 39 refused with 8 s).
 * On AWS no request ever waits here (one request per instance).
 */
const TURN_WAIT_BUDGET_MS = 15_000;
/** Beyond this many waiting, an account's request is refused at once: a flood must not grow the process's memory. */
const TURN_MAX_WAITING = 2_000;


/**
 * A function's context, built once at its cold start by its handler module (config is parsed once per process).
 *
 * Each function gets its own clients: on AWS every function runs in processes of its own, so one function's queue of
 * store requests never delays another's. serverless-offline runs them all in one process, where a shared pool let a
 * backlog of executions hold every acknowledgement behind it. `maxSockets` bounds the connections per endpoint
 * (default AWS_MAX_SOCKETS): background functions pass their own concurrency, which is all they can use at once,
 * so a store they share with the request path never has more of their requests queued than that.
 */
export const engineContext = (options: { maxSockets?: (config: EngineConfig) => number } = {}): EngineContext => {
  const parsed = config();
  return createEngineContext(parsed, options.maxSockets ? { maxSockets: options.maxSockets(parsed) } : {});
};

import type { EngineConfig } from '../config';
import { AccountsTable } from '../aws/accounts-table';
import { ConnectionsTable } from '../aws/connections-table';
import { OrdersTable } from '../aws/orders-table';
import { LedgerTable } from '../aws/ledger-table';
import { LimitsTable } from '../aws/limits-table';
import { ConfigError } from '../errors';
import { Notifier } from '../notify/notifier';
import { MockCluster } from '../chain/cluster';
import { mockProfile, type MockProfile } from '../chain/profile';
import { setLogLevel } from '../log';
import { setMarketSeed } from '../venues/market';

/** Everything a use case needs, built once per process from the parsed configuration. */
export interface EngineContext {
  config: EngineConfig;
  accounts: AccountsTable;
  connections: ConnectionsTable;
  orders: OrdersTable;
  ledger: LedgerTable;
  /** Admission control's per-account state (lib/accounts/admission.ts). */
  limits: LimitsTable;
  notifier: Notifier;
  profile: MockProfile;
  cluster: MockCluster;
  now: () => number;
}

export const createEngineContext = (config: EngineConfig, now: () => number = Date.now): EngineContext => {
  setLogLevel(config.LOG_LEVEL);
  // Routing and landing must price on the same market in every process: it is a function of the seed and the clock.
  setMarketSeed(config.MOCK_SEED);
  const orders = new OrdersTable(config.ORDERS_TABLE);
  const connections = new ConnectionsTable(config.CONNECTIONS_TABLE);
  const ledger = new LedgerTable(config.LEDGER_TABLE);
  if (!config.LIMITS_TABLE) throw new ConfigError('Invalid configuration: LIMITS_TABLE is required');
  const profile = mockProfile(config.MOCK_PROFILE, { failureRates: config.MOCK_FAILURE_RATES });
  return {
    config,
    accounts: new AccountsTable(config.ACCOUNTS_TABLE),
    connections,
    orders,
    ledger,
    limits: new LimitsTable(config.LIMITS_TABLE),
    notifier: new Notifier({
      statusQueueName: config.STATUS_QUEUE_NAME,
      fixedEndpoint: config.WS_MGMT_ENDPOINT,
      orders,
      connections,
    }),
    profile,
    cluster: new MockCluster({ ledger, profile, seed: config.MOCK_SEED, now, marketSeed: config.MOCK_SEED }),
    now,
  };
};

import { afterEach, describe, expect, it } from 'vitest';
import { awsMaxSockets, parseConfig } from '../../lib/config';
import { ConfigError } from '../../lib/errors';

const tables = {
  ACCOUNTS_TABLE: 'accounts',
  ORDERS_TABLE: 'orders',
  CONNECTIONS_TABLE: 'connections',
  LEDGER_TABLE: 'ledger',
  ORDERS_QUEUE_NAME: 'orders',
  SNIPES_QUEUE_NAME: 'snipes',
  STATUS_QUEUE_NAME: 'status.fifo',
};

describe('config', () => {
  const saved = process.env.AWS_MAX_SOCKETS;
  afterEach(() => {
    if (saved === undefined) delete process.env.AWS_MAX_SOCKETS;
    else process.env.AWS_MAX_SOCKETS = saved;
  });

  it('MOCK_FAILURE_RATES: parsed once at start-up into rates; a malformed entry is refused by name', () => {
    expect(parseConfig(tables).MOCK_FAILURE_RATES).toEqual({});
    expect(parseConfig({ ...tables, MOCK_FAILURE_RATES: 'rpcTimeout=0.01, venue5xx=0' }).MOCK_FAILURE_RATES).toEqual({ rpcTimeout: 0.01, venue5xx: 0 });
    for (const bad of ['rpcTimeout', 'rpcTimeout=', 'rpcTimeout=1.5', 'rpcTimeout=-0.1', 'rpcTimeout=x', '=0.1', 'a=0.1=0.2']) {
      expect(() => parseConfig({ ...tables, MOCK_FAILURE_RATES: bad })).toThrow(ConfigError);
      expect(() => parseConfig({ ...tables, MOCK_FAILURE_RATES: bad })).toThrow(/MOCK_FAILURE_RATES: .* is not name=rate/);
    }
  });

  it('names every missing variable', () => {
    expect(() => parseConfig({ ORDERS_TABLE: 'orders' })).toThrow(ConfigError);
    expect(() => parseConfig({ ORDERS_TABLE: 'orders' })).toThrow(/ACCOUNTS_TABLE is required.*LEDGER_TABLE is required/);
  });

  it('AWS_MAX_SOCKETS: the SDK default of 50 unless set; a non-positive value is refused by name', () => {
    expect(parseConfig(tables).AWS_MAX_SOCKETS).toBe(50);
    expect(parseConfig({ ...tables, AWS_MAX_SOCKETS: '16' }).AWS_MAX_SOCKETS).toBe(16);
    delete process.env.AWS_MAX_SOCKETS;
    expect(awsMaxSockets()).toBe(50);
    process.env.AWS_MAX_SOCKETS = '0';
    expect(() => awsMaxSockets()).toThrow(/AWS_MAX_SOCKETS/);
  });
});

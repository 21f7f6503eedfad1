import { afterEach, describe, expect, it, vi } from 'vitest';
import { log, setLogLevel, withInvocationLog, withLogContext } from '../../lib/log';

const lines = (spy: { mock: { calls: unknown[][] } }): Array<Record<string, unknown>> => spy.mock.calls.map(([line]) => JSON.parse(String(line)) as Record<string, unknown>);

describe('log context', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    setLogLevel('info');
  });

  it('concurrent invocations in one process each label their own lines (request id, function), and an order scope adds its orderId', async () => {
    setLogLevel('info');
    const out = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const tick = () => new Promise((resolve) => setTimeout(resolve, 1));
    const handler = withInvocationLog(async (event: { orders: string[] }) => {
      log.info('invocation started');
      await Promise.all(
        event.orders.map((orderId) =>
          withLogContext({ orderId }, async () => {
            await tick();
            log.info('order step', { step: 1 });
            await tick();
            log.info('order step', { step: 2 });
          }),
        ),
      );
      log.info('invocation ended');
    });
    await Promise.all([
      handler({ orders: ['o-a1', 'o-a2'] }, { awsRequestId: 'req-a', functionName: 'executeOrder' }),
      handler({ orders: ['o-b1'] }, { awsRequestId: 'req-b', functionName: 'notify' }),
    ]);
    const written = lines(out);
    expect(written).toHaveLength(2 * 2 + 3 * 2);
    for (const line of written) expect(line.requestId === 'req-a' ? 'executeOrder' : 'notify').toBe(line.function);
    const steps = written.filter((line) => line.message === 'order step');
    expect(steps.map((line) => `${line.requestId}:${line.orderId}`).sort()).toEqual(
      ['req-a:o-a1', 'req-a:o-a1', 'req-a:o-a2', 'req-a:o-a2', 'req-b:o-b1', 'req-b:o-b1'],
    );
    // Outside an order's scope a line carries no orderId; outside any invocation, no request id either.
    expect(written.filter((line) => line.message !== 'order step').every((line) => line.orderId === undefined)).toBe(true);
    log.info('outside');
    expect(lines(out).at(-1)).not.toHaveProperty('requestId');
  });
});

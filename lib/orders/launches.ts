import { RequestError } from '../errors';
import { launchEntry } from '../chain/launches';
import type { LaunchesFrame } from '../notify/frames';
import type { EngineContext } from '../engine';
import { validateLaunches, validateMockLaunch, type MockLaunchMessage } from './request';

/** `launches` (PROTOCOL.md v2): the mock chain's announced launches, pool scheduled or created recently, by open time. */
export const listLaunches = async (ctx: EngineContext): Promise<LaunchesFrame> => {
  const launches = await ctx.launches.launches();
  const nowMs = ctx.now();
  return { type: 'launches', launches: launches.map((launch) => launchEntry(launch, nowMs)) };
};

/** `mockLaunch` (test hooks): a launch now, pool created at once; answered with its `launches` entry. */
export const mockLaunch = async (ctx: EngineContext, request: MockLaunchMessage): Promise<LaunchesFrame> => {
  const launch = await ctx.launches.mockLaunch(request);
  return { type: 'launches', launches: [launchEntry(launch, ctx.now())] };
};

/**
 * The one request a launches route message is: `launches`, or `mockLaunch` when the engine runs with test hooks
 * (otherwise it is an unknown action, as on an engine that has no such route).
 */
export type LaunchesRequest = { action: 'launches' } | ({ action: 'mockLaunch' } & MockLaunchMessage);

export const validateLaunchesRequest = (body: unknown, options: { testHooks: boolean }): LaunchesRequest => {
  const action = (body as { action?: unknown }).action;
  if (action === 'mockLaunch') {
    if (!options.testHooks) {
      throw new RequestError('UNKNOWN_ACTION', 'unknown action "mockLaunch" (a test hook: this engine runs without MOCK_TEST_HOOKS)', [
        { path: 'action', message: 'test hooks are not enabled on this engine' },
      ]);
    }
    return { action, ...validateMockLaunch(body) };
  }
  validateLaunches(body);
  return { action: 'launches' };
};

export const answerLaunchesRequest = (ctx: EngineContext, request: LaunchesRequest): Promise<LaunchesFrame> =>
  request.action === 'mockLaunch' ? mockLaunch(ctx, request) : listLaunches(ctx);

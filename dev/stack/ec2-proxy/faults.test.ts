// Fault injection and holds over a proxy state.
import { holdAnswer, injectFault, releaseHeld } from './faults.js';
import { createState } from './state.js';
import { errorCodeOf } from './xml.js';

describe('holds', () => {
  test("withhold the next `count` successful answers of the held action only, until released", () => {
    const state = createState();
    state.hold = { action: 'AttachNetworkInterface', count: 1 };
    const sent: string[] = [];
    const answer = (action: string, status: number, body: string) => holdAnswer(state, { action, params: {}, body, status }, () => sent.push(body));
    expect(answer('DetachNetworkInterface', 200, 'other action')).toBe(false);
    expect(answer('AttachNetworkInterface', 400, 'refused')).toBe(false);
    expect(answer('AttachNetworkInterface', 200, 'first')).toBe(true);
    expect(answer('AttachNetworkInterface', 200, 'second')).toBe(false); // the count is spent
    expect([state.held.map((h) => h.body), sent]).toEqual([['first'], []]);
    releaseHeld(state);
    expect([state.hold, state.held, sent]).toEqual([undefined, [], ['first']]);
  });
});

describe('injectFault', () => {
  test('a call the buckets did not admit is throttled whatever the faults; an admitted one meets the seeded draw', async () => {
    const state = createState();
    const refused = await injectFault(state, 'CreateNetworkInterface', false);
    expect([refused?.status, errorCodeOf(refused!.body.toString())]).toEqual([503, 'RequestLimitExceeded']);
    expect(await injectFault(state, 'CreateNetworkInterface', true)).toBeUndefined();
    state.faults = { ...state.faults, serverErrorRate: 1, actions: ['DeleteNetworkInterface'] };
    expect(await injectFault(state, 'CreateNetworkInterface', true)).toBeUndefined();
    const failed = await injectFault(state, 'DeleteNetworkInterface', true);
    expect([failed?.status, errorCodeOf(failed!.body.toString())]).toEqual([500, 'InternalError']);
  });
});

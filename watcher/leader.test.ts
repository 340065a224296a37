import { decideLease, leadershipExpired, leaseObservationKey } from './leader.js';

const ME = 'watcher-a-1';
const OTHER = 'watcher-b-2';
const NOW = 1_700_000_000_000;

describe('decideLease', () => {
  it('acquires a lease that does not exist or has no holder (released on shutdown)', () => {
    expect(decideLease(undefined, ME, NOW, NOW)).toEqual({ action: 'acquire', takeover: false });
    expect(decideLease({ holderIdentity: '', leaseDurationSeconds: 1 }, ME, NOW, NOW)).toEqual({ action: 'acquire', takeover: false });
    expect(decideLease({ holderIdentity: null }, ME, NOW, NOW)).toEqual({ action: 'acquire', takeover: false });
  });

  it('renews its own lease', () => {
    expect(decideLease({ holderIdentity: ME, leaseDurationSeconds: 15, renewTime: new Date(NOW - 60000) }, ME, NOW, NOW - 60000)).toEqual({ action: 'renew' });
  });

  it("waits while another holder's lease is within its duration, counted from when this candidate saw it change", () => {
    const lease = { holderIdentity: OTHER, leaseDurationSeconds: 15, renewTime: new Date(NOW) };
    expect(decideLease(lease, ME, NOW + 14000, NOW)).toEqual({ action: 'wait', holder: OTHER, expiresInMs: 1000 });
  });

  it('takes over once the lease went unrenewed for its whole duration', () => {
    const lease = { holderIdentity: OTHER, leaseDurationSeconds: 15, renewTime: new Date(NOW) };
    expect(decideLease(lease, ME, NOW + 15000, NOW)).toEqual({ action: 'acquire', takeover: true });
  });

  it("ignores the holder's clock: a renewTime far in the past does not let a newcomer take over at once", () => {
    // The holder's clock lags by an hour; this candidate just started watching.
    const lease = { holderIdentity: OTHER, leaseDurationSeconds: 15, renewTime: new Date(NOW - 3600_000) };
    expect(decideLease(lease, ME, NOW, NOW).action).toBe('wait');
  });

  it('uses the default duration when the lease has none', () => {
    expect(decideLease({ holderIdentity: OTHER }, ME, NOW + 9000, NOW, 10000).action).toBe('wait');
    expect(decideLease({ holderIdentity: OTHER }, ME, NOW + 10000, NOW, 10000).action).toBe('acquire');
  });
});

describe('leadershipExpired', () => {
  it('is true once the last successful renewal is older than the deadline', () => {
    expect(leadershipExpired(NOW, NOW + 10000, 10000)).toBe(false);
    expect(leadershipExpired(NOW, NOW + 10001, 10000)).toBe(true);
  });
});

describe('leaseObservationKey', () => {
  it('changes when the holder renews or changes, so the candidate restarts its clock', () => {
    const a = leaseObservationKey({ holderIdentity: OTHER, renewTime: new Date(NOW) });
    expect(leaseObservationKey({ holderIdentity: OTHER, renewTime: new Date(NOW).toISOString() })).toBe(a);
    expect(leaseObservationKey({ holderIdentity: OTHER, renewTime: new Date(NOW + 5000) })).not.toBe(a);
    expect(leaseObservationKey({ holderIdentity: ME, renewTime: new Date(NOW) })).not.toBe(a);
    expect(leaseObservationKey(undefined)).toBe('');
  });
});

import { clusterTagKey, freeDeviceIndex, noFreeSlotMessage, notInCluster } from './device-slots.js';

describe('freeDeviceIndex', () => {
  it('takes the index asked for when it is free', () => {
    expect(freeDeviceIndex(2, [0, 1], 8)).toBe(2);
  });
  it('moves past taken indexes, staying below the type limit', () => {
    expect(freeDeviceIndex(1, [0, 1, 2, 4], 8)).toBe(3);
    expect(freeDeviceIndex(6, [0, 6, 7], 8)).toBeUndefined();
  });
  it('has no slot when the instance holds as many interfaces as its type takes, whatever their indexes', () => {
    expect(freeDeviceIndex(1, [0, 1, 5], 3)).toBeUndefined();
  });
  it('without a known limit, any index above the taken ones', () => {
    expect(freeDeviceIndex(1, [0, 1, 2], undefined)).toBe(3);
  });
});

describe('notInCluster', () => {
  const facts = (tags: Record<string, string>) => ({ instanceId: 'i-1', tags });
  it('accepts an instance tagged owned or shared for this cluster', () => {
    expect(notInCluster(facts({ [clusterTagKey('prod')]: 'owned' }), 'prod')).toBeUndefined();
    expect(notInCluster(facts({ 'kubernetes.io/cluster/prod': 'shared' }), 'prod')).toBeUndefined();
  });
  it("refuses another cluster's instance or an untagged one, naming the tag and CLUSTER_NAME", () => {
    expect(notInCluster(facts({ 'kubernetes.io/cluster/other': 'owned' }), 'prod')).toMatch(/i-1 does not carry the tag kubernetes\.io\/cluster\/prod=owned\|shared.*CLUSTER_NAME/);
    expect(notInCluster(facts({ 'kubernetes.io/cluster/prod': 'yes' }), 'prod')).toContain("(it has 'yes')");
  });
});

it('noFreeSlotMessage names the instance, its limit and the indexes in use', () => {
  expect(noFreeSlotMessage({ instanceId: 'i-1', instanceType: 'm5.large', maxInterfaces: 3 }, [2, 0, 1], 1)).toBe(
    'no free device index at or above 1 on i-1 (m5.large takes 3 network interfaces); in use: 0, 1, 2',
  );
});

import { WatcherEnvSchema } from './watcher.js';

describe('WatcherEnvSchema', () => {
  it('defaults to leader election on the multi-eni-watcher Lease, a 5-minute relist and the controller task queue', () => {
    const env = WatcherEnvSchema.parse({});
    expect(env).toMatchObject({
      LEADER_ELECTION: true,
      LEASE_NAME: 'multi-eni-watcher',
      WATCHER_RELIST_SECONDS: 300,
      WATCHER_TASK_QUEUE: 'multi-eni-controller',
      WATCHER_HEALTH_PORT: 8081,
      TEMPORAL_ADDRESS: 'localhost:7233',
    });
    expect(env.LEASE_NAMESPACE).toBeUndefined();
  });

  it('parses the switches and numbers given as strings', () => {
    const env = WatcherEnvSchema.parse({ LEADER_ELECTION: 'false', WATCHER_RELIST_SECONDS: '60', POD_NAMESPACE: 'kube-system' });
    expect(env).toMatchObject({ LEADER_ELECTION: false, WATCHER_RELIST_SECONDS: 60, POD_NAMESPACE: 'kube-system' });
  });

  it('rejects nonsense, naming the variable', () => {
    const r = WatcherEnvSchema.safeParse({ LEADER_ELECTION: 'yes', WATCHER_RELIST_SECONDS: '1' });
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => i.path.join('.')).sort()).toEqual(['LEADER_ELECTION', 'WATCHER_RELIST_SECONDS']);
  });
});

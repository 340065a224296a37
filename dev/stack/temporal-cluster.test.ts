import yaml from 'js-yaml';
import { CLUSTER_COMPONENTS, clusterConfigYaml, clusterPortList, clusterPorts, schemaSteps, temporalMode, uiConfigYaml } from './temporal-cluster.js';
import { stackPorts } from './paths.js';

interface Cfg {
  persistence: { defaultStore: string; visibilityStore: string; numHistoryShards: number; datastores: Record<string, { sql: { pluginName: string; databaseName: string; connectAddr: string } }> };
  services: Record<string, { rpc: { grpcPort: number; membershipPort: number; bindOnIP: string; httpPort?: number } }>;
  clusterMetadata: { currentClusterName: string; masterClusterName: string; clusterInformation: Record<string, { rpcAddress: string }> };
  dynamicConfigClient: { filepath: string };
}

describe('Temporal cluster config', () => {
  const ports = clusterPorts(19200);
  const cfg = yaml.load(clusterConfigYaml({ ports, numHistoryShards: 4, dynamicConfigFile: '/tmp/x/dc.yaml' })) as Cfg;

  it('puts both stores on PostgreSQL (postgres12) with the chart databases', () => {
    const ds = cfg.persistence.datastores;
    expect(ds[cfg.persistence.defaultStore]!.sql).toMatchObject({ pluginName: 'postgres12', databaseName: 'temporal', connectAddr: '127.0.0.1:19232' });
    expect(ds[cfg.persistence.visibilityStore]!.sql).toMatchObject({ pluginName: 'postgres12', databaseName: 'temporal_visibility', connectAddr: '127.0.0.1:19232' });
    expect(cfg.persistence.numHistoryShards).toBe(4);
    expect(cfg.dynamicConfigClient.filepath).toBe('/tmp/x/dc.yaml');
  });

  it('gives each of the four services its own gRPC and membership port on loopback; the frontend has the dev server port', () => {
    expect(Object.keys(cfg.services).sort()).toEqual(['frontend', 'history', 'matching', 'worker']);
    const all = Object.values(cfg.services).flatMap((s) => [s.rpc.grpcPort, s.rpc.membershipPort, ...(s.rpc.httpPort ? [s.rpc.httpPort] : [])]);
    expect(new Set(all).size).toBe(all.length);
    for (const s of Object.values(cfg.services)) expect(s.rpc.bindOnIP).toBe('127.0.0.1');
    expect(cfg.services.frontend!.rpc.grpcPort).toBe(stackPorts(19200).temporal);
    expect(cfg.clusterMetadata.clusterInformation[cfg.clusterMetadata.currentClusterName]!.rpcAddress).toBe(`127.0.0.1:${stackPorts(19200).temporal}`);
    expect(cfg.clusterMetadata.masterClusterName).toBe(cfg.clusterMetadata.currentClusterName);
  });

  it('never collides with the ports of the rest of the stack (the dev server\'s gRPC and UI ports it takes over)', () => {
    const { temporal, temporalUi } = stackPorts(19200);
    expect([ports.frontend.grpc, ports.ui]).toEqual([temporal, temporalUi]);
    const stack = Object.values(stackPorts(19200)).filter((p) => p !== temporal && p !== temporalUi);
    const mine = clusterPortList(ports);
    expect(new Set(mine).size).toBe(mine.length);
    expect(mine.filter((p) => stack.includes(p))).toEqual([]);
  });

  it('points the Web UI at the frontend, on loopback at the dev server\'s UI port', () => {
    const ui = yaml.load(uiConfigYaml(ports)) as Record<string, unknown>;
    expect(ui).toMatchObject({ temporalGrpcAddress: `127.0.0.1:${stackPorts(19200).temporal}`, host: '127.0.0.1', port: stackPorts(19200).temporalUi, enableUi: true, defaultNamespace: 'default' });
  });

  it('takes the shard count it is given and refuses a nonsensical one', () => {
    const c = yaml.load(clusterConfigYaml({ ports, numHistoryShards: 16, dynamicConfigFile: 'd' })) as Cfg;
    expect(c.persistence.numHistoryShards).toBe(16);
    expect(() => clusterConfigYaml({ ports, numHistoryShards: 0, dynamicConfigFile: 'd' })).toThrow(/numHistoryShards/);
  });

  it('runs the schema Job steps of the chart for temporal, then temporal_visibility', () => {
    const steps = schemaSteps('/s', 19232);
    expect(steps.map((s) => `${s.env.SQL_DATABASE}: ${s.args.join(' ')}`)).toEqual([
      'temporal: create-database',
      'temporal: setup-schema -v 0.0',
      'temporal: update-schema --schema-dir /s/postgresql/v12/temporal/versioned',
      'temporal_visibility: create-database',
      'temporal_visibility: setup-schema -v 0.0',
      'temporal_visibility: update-schema --schema-dir /s/postgresql/v12/visibility/versioned',
    ]);
    for (const s of steps) expect(s.env).toMatchObject({ SQL_PLUGIN: 'postgres12', SQL_HOST: '127.0.0.1', SQL_PORT: '19232' });
  });

  it('is selected by MULTI_ENI_TEMPORAL, the dev server by default', () => {
    expect(temporalMode({})).toBe('dev');
    expect(temporalMode({ MULTI_ENI_TEMPORAL: 'cluster' })).toBe('cluster');
    expect(() => temporalMode({ MULTI_ENI_TEMPORAL: 'eks' })).toThrow(/dev or cluster/);
    expect(CLUSTER_COMPONENTS).toEqual(['postgres', 'temporal-frontend', 'temporal-history', 'temporal-matching', 'temporal-worker', 'temporal-ui']);
  });
});

#!/usr/bin/env node
// kubectl plugin: `kubectl nodeeni why <name> [node]` says in plain words what a NodeENI's pairs are doing and what
// to do about a stuck one. On PATH as `kubectl-nodeeni` (npm's bin), kubectl finds it as `kubectl nodeeni`.
import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { Client, Connection } from '@temporalio/client';
import { TemporalEnvSchema, temporalConnectionOptions } from '../common/temporal-connection.js';
import { why } from './why.js';

const USAGE = `usage: kubectl nodeeni why <nodeeni> [node] [--kubeconfig FILE] [--temporal-address HOST:PORT] [--namespace NS] [--temporal-ui URL]
  Temporal settings default to the controller's variables (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TLS_*,
  TEMPORAL_API_KEY); the Web UI link to TEMPORAL_UI_URL.`;

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      kubeconfig: { type: 'string' },
      'temporal-address': { type: 'string' },
      namespace: { type: 'string' },
      'temporal-ui': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, name, node] = positionals;
  if (values.help || command !== 'why' || !name) {
    console.error(USAGE);
    return values.help ? 0 : 2;
  }
  const env = TemporalEnvSchema.parse({
    ...process.env,
    ...(values['temporal-address'] ? { TEMPORAL_ADDRESS: values['temporal-address'] } : {}),
    ...(values.namespace ? { TEMPORAL_NAMESPACE: values.namespace } : {}),
  });
  const kc = new KubeConfig();
  if (values.kubeconfig) kc.loadFromFile(values.kubeconfig);
  else kc.loadFromDefault();
  const connection = await Connection.connect({ ...temporalConnectionOptions(env), connectTimeout: '10s' });
  try {
    const client = new Client({ connection, namespace: env.TEMPORAL_NAMESPACE });
    const webUi = values['temporal-ui'] ?? process.env.TEMPORAL_UI_URL;
    process.stdout.write(await why({ kc, client, namespace: env.TEMPORAL_NAMESPACE, ...(webUi ? { webUi } : {}) }, name, node));
    return 0;
  } finally {
    await connection.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    const e = err as { code?: number; message?: string };
    console.error(e.code === 404 ? `NodeENI not found: ${process.argv.slice(2).join(' ')}` : `kubectl nodeeni: ${e.message ?? String(err)}`);
    process.exit(1);
  },
);

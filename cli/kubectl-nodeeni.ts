#!/usr/bin/env node
// kubectl plugin. `kubectl nodeeni why <name> [node]` says in plain words what a NodeENI's pairs are doing and what
// to do about a stuck one; `kubectl nodeeni nad <name> [node]` prints a Multus NetworkAttachmentDefinition per
// attachment. On PATH as `kubectl-nodeeni` (npm's bin), kubectl finds it as `kubectl nodeeni`.
import { parseArgs } from 'node:util';
import yaml from 'js-yaml';
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { Client, Connection } from '@temporalio/client';
import { TemporalEnvSchema, temporalConnectionOptions } from '../common/temporal-connection.js';
import { why } from './why.js';
import { networkAttachmentDefinitions } from './nad.js';
import { readNodeENI } from './nodeeni-read.js';

const USAGE = `usage: kubectl nodeeni why <nodeeni> [node] [--kubeconfig FILE] [--temporal-address HOST:PORT] [--namespace NS] [--temporal-ui URL]
  Temporal settings default to the controller's variables (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TLS_*,
  TEMPORAL_API_KEY); the Web UI link to TEMPORAL_UI_URL.
       kubectl nodeeni nad <nodeeni> [node] [--kubeconfig FILE] [--nad-namespace NS] [--mode l3|l2|l3s]
  A NetworkAttachmentDefinition (ipvlan on the ENI's interface, host-local IPAM over the ENI's secondary addresses
  and prefixes) per attachment, for pods on that node; pipe it to kubectl apply -f -.`;

/** Prints the definitions as YAML documents; the attachments left out, and why, as comments on stderr. */
async function printNads(kc: KubeConfig, name: string, node: string | undefined, namespace: string, mode: string): Promise<number> {
  if (mode !== 'l2' && mode !== 'l3' && mode !== 'l3s') {
    console.error(`--mode must be l2, l3 or l3s (ipvlan's modes), not ${mode}`);
    return 2;
  }
  const obj = await readNodeENI(kc.makeApiClient(CustomObjectsApi), name, node);
  const r = networkAttachmentDefinitions(obj, { namespace, mode, ...(node ? { node } : {}) });
  for (const s of r.skipped) console.error(`# skipped ${s}`);
  process.stdout.write(r.definitions.map((d) => yaml.dump(d, { lineWidth: -1 })).join('---\n'));
  return r.definitions.length > 0 ? 0 : 1;
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      kubeconfig: { type: 'string' },
      'temporal-address': { type: 'string' },
      namespace: { type: 'string' },
      'temporal-ui': { type: 'string' },
      'nad-namespace': { type: 'string', default: 'default' },
      mode: { type: 'string', default: 'l3' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, name, node] = positionals;
  if (values.help || (command !== 'why' && command !== 'nad') || !name) {
    console.error(USAGE);
    return values.help ? 0 : 2;
  }
  const kc = new KubeConfig();
  if (values.kubeconfig) kc.loadFromFile(values.kubeconfig);
  else kc.loadFromDefault();
  if (command === 'nad') return printNads(kc, name, node, values['nad-namespace'], values.mode);
  const env = TemporalEnvSchema.parse({
    ...process.env,
    ...(values['temporal-address'] ? { TEMPORAL_ADDRESS: values['temporal-address'] } : {}),
    ...(values.namespace ? { TEMPORAL_NAMESPACE: values.namespace } : {}),
  });
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

// `npm run stack:up | stack:down | stack:status`: the local stack as one command each. `kill <component>` (SIGKILL)
// and `restart <component>` (same command line, same data) take one component down and up again.
import { killComponent, readState, restartComponent, stackHealthy, startStack, stopStack, type Component } from './stack.js';
import { CLUSTER_COMPONENTS, temporalMode, type TemporalMode } from './temporal-cluster.js';

const COMPONENTS: readonly Component[] = ['etcd', 'temporal', 'moto', 'ec2-proxy', 'kube-apiserver', ...CLUSTER_COMPONENTS];

/** `up --temporal dev|cluster` (default MULTI_ENI_TEMPORAL, else dev). */
function temporalFlag(argv: string[]): TemporalMode {
  const i = argv.indexOf('--temporal');
  return i >= 0 ? temporalMode({ MULTI_ENI_TEMPORAL: argv[i + 1] }) : temporalMode();
}
function component(name: string | undefined): Component {
  const c = COMPONENTS.find((x) => x === name);
  if (!c) throw new Error(`name a component: ${COMPONENTS.join(', ')}`);
  return c;
}

const stamp = () => new Date().toISOString().slice(11, 19);
const say = (l: string) => console.log(`[${stamp()}] ${l}`);

async function main(cmd: string | undefined, arg: string | undefined): Promise<void> {
  switch (cmd) {
    case 'up': {
      const s = await startStack({ progress: say, instances: Number(process.env.MULTI_ENI_INSTANCES ?? 4), temporal: temporalFlag(process.argv.slice(3)) });
      console.log(`
Temporal      ${s.temporal.address} (namespace ${s.temporal.namespace}, ${s.temporal.mode === 'cluster' ? 'cluster: postgres + frontend, history, matching, worker' : 'dev server'})
Temporal UI   ${s.temporal.uiUrl}
kube-apiserver ${s.kube.server}   export KUBECONFIG=${s.kube.kubeconfig}
EC2 (proxy)   ${s.ec2.endpoint}   moto ${s.ec2.motoEndpoint}   faults ${s.ec2.proxyControl}
logs          ${s.dir}/logs
tools         export PATH=${s.bin}:$PATH`);
      return;
    }
    case 'down':
      await stopStack(say);
      return;
    case 'status': {
      const s = readState();
      if (!s) {
        console.log('no stack running');
        process.exitCode = 1;
        return;
      }
      const ok = await stackHealthy(s);
      console.log(JSON.stringify({ healthy: ok, pids: s.pids, temporalUi: s.temporal.uiUrl, kubeconfig: s.kube.kubeconfig, logs: s.logs }, null, 2));
      if (!ok) process.exitCode = 1;
      return;
    }
    case 'kill': {
      const c = component(arg);
      say(`${c} (pid ${await killComponent(c)}) killed with SIGKILL`);
      return;
    }
    case 'restart': {
      const c = component(arg);
      say(`${c} restarted: pid ${await restartComponent(c)}`);
      return;
    }
    default:
      console.error('usage: cli.js up [--temporal dev|cluster]|down|status|kill <component>|restart <component>');
      process.exitCode = 2;
  }
}

main(process.argv[2], process.argv[3]).catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});

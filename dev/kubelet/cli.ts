// `node dist/dev/kubelet/cli.js up|down|status`: a real single-node cluster (containerd, kubelet, kube-scheduler,
// kube-controller-manager) on the running local stack (`npm run stack:up` first; same MULTI_ENI_PORT_BASE and
// MULTI_ENI_STACK_DIR). `up` registers Node `$NODE_NAME` (default multi-eni-kubelet) for a new instance in the EC2
// emulator, labelled `ng=multi-eni` (the chart's default node agent selector); `down` stops every process by PID.
import { emulatorClient, runInstances } from '../stack/seed.js';
import { readState } from '../stack/stack.js';
import { defaultNodeDir, readNodeState, startKubeletNode, stopKubeletNode } from './node.js';
import { isAlive } from '../stack/processes.js';

const stamp = () => new Date().toISOString().slice(11, 19);
const say = (l: string) => console.log(`[${stamp()}] ${l}`);

async function main(cmd: string | undefined): Promise<void> {
  const stack = readState();
  if (!stack) throw new Error('no local stack: `npm run stack:up` first (with the same MULTI_ENI_STACK_DIR)');
  const dir = defaultNodeDir(stack);
  switch (cmd) {
    case 'up': {
      const clusterName = process.env.CLUSTER_NAME ?? 'multi-eni-kubelet';
      const ec2 = emulatorClient(stack.ec2.motoEndpoint, stack.ec2.region);
      const [inst] = await runInstances(ec2, stack.seed, 1, 'us-east-1a', undefined, clusterName);
      ec2.destroy();
      if (!inst) throw new Error('no instance started');
      const name = process.env.NODE_NAME ?? 'multi-eni-kubelet';
      const s = await startKubeletNode({ stack, name, providerID: `aws:///${inst.az}/${inst.id}`, labels: { ng: 'multi-eni' }, progress: say });
      console.log(`
Node          ${s.name}   providerID aws:///${inst.az}/${inst.id}   (instance tagged for cluster ${clusterName})
containerd    ctr -a ${s.containerdSocket} -n k8s.io images ls
logs          ${s.dir}/logs   pod logs ${s.dir}/pod-logs
stop          node dist/dev/kubelet/cli.js down`);
      return;
    }
    case 'down': {
      const s = readNodeState(dir);
      if (!s) {
        say(`no kubelet node in ${dir}`);
        return;
      }
      await stopKubeletNode(s, { stack, progress: say });
      return;
    }
    case 'status': {
      const s = readNodeState(dir);
      if (!s) {
        console.log('no kubelet node');
        process.exitCode = 1;
        return;
      }
      const alive = Object.fromEntries(Object.entries(s.pids).map(([k, pid]) => [k, { pid, alive: isAlive(pid) }]));
      console.log(JSON.stringify({ name: s.name, processes: alive, logs: s.logs }, null, 2));
      if (!Object.values(s.pids).every(isAlive)) process.exitCode = 1;
      return;
    }
    default:
      console.error('usage: cli.js up|down|status');
      process.exitCode = 2;
  }
}

main(process.argv[2]).catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});

// Command-line flags of `npm run demo` (node dist/dev/demo/main.js).
import { CONTROLLER_TASK_QUEUE } from '../../common/names.js';

export interface DemoArgs {
  nodes: number;
  exitWhenReady: boolean;
  keepStack: boolean;
  /** Controller task queue (workflows and controller activities). */
  taskQueue: string;
  /** `key=value`: scopes the controller to NodeENIs with that label, which the demo puts on its NodeENIs. */
  selector?: string;
  /** Value of the nodes' `ng` label (the seeds select `ng: multi-eni`). */
  nodeGroup: string;
  /** Appended to the NodeENI names. */
  nameSuffix?: string;
  clusterName: string;
  /** Seconds to wait for every attachment to be Ready. */
  timeoutSeconds: number;
}

export const USAGE = `usage: npm run demo -- [flags]   (or node dist/dev/demo/main.js [flags])

  --nodes N            simulated nodes (default 2)
  --exit-when-ready    stop and clean up once every attachment is Ready, exit 0 (CI, no terminal)
  --keep-stack         leave the local stack running on exit even if the demo started it
  --timeout S          seconds to wait for convergence (default 180)

Sharing a stack with other runs (what the tests pass):
  --task-queue Q       the controller's task queue (default ${CONTROLLER_TASK_QUEUE})
  --selector k=v       label the demo's NodeENIs k=v and scope the controller to them (NODEENI_SELECTOR)
  --node-group G       the nodes' ng label (default multi-eni); the manifests' nodeSelector follows it
  --name-suffix S      append -S to every NodeENI name
  --cluster-name C     the controller's CLUSTER_NAME, tagged on every ENI (default demo)`;

export class UsageError extends Error {}

const LABEL = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

export function parseArgs(argv: string[]): DemoArgs {
  const a: DemoArgs = { nodes: 2, exitWhenReady: false, keepStack: false, taskQueue: CONTROLLER_TASK_QUEUE, nodeGroup: 'multi-eni', clusterName: 'demo', timeoutSeconds: 180 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const [name, inline] = flag.includes('=') && flag.startsWith('--') ? [flag.slice(0, flag.indexOf('=')), flag.slice(flag.indexOf('=') + 1)] : [flag, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new UsageError(`${name} needs a value`);
      return v;
    };
    switch (name) {
      case '--nodes': {
        const n = Number(value());
        if (!Number.isInteger(n) || n < 1 || n > 20) throw new UsageError('--nodes must be an integer from 1 to 20');
        a.nodes = n;
        break;
      }
      case '--exit-when-ready':
        a.exitWhenReady = true;
        break;
      case '--keep-stack':
        a.keepStack = true;
        break;
      case '--timeout': {
        const n = Number(value());
        if (!Number.isFinite(n) || n <= 0) throw new UsageError('--timeout must be a positive number of seconds');
        a.timeoutSeconds = n;
        break;
      }
      case '--task-queue':
        a.taskQueue = value();
        break;
      case '--selector': {
        const v = value();
        const [k, val] = v.split('=');
        if (!k || val === undefined || !LABEL.test(val) || !/^([a-z0-9.-]+\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(k)) {
          throw new UsageError('--selector must be one label as key=value');
        }
        a.selector = v;
        break;
      }
      case '--node-group': {
        const v = value();
        if (!LABEL.test(v)) throw new UsageError('--node-group must be a valid label value');
        a.nodeGroup = v;
        break;
      }
      case '--name-suffix': {
        const v = value();
        if (!/^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$/.test(v)) throw new UsageError('--name-suffix must be lowercase letters, digits and -');
        a.nameSuffix = v;
        break;
      }
      case '--cluster-name': {
        const v = value();
        if (!/^[A-Za-z0-9][-A-Za-z0-9_.]{0,99}$/.test(v)) throw new UsageError('--cluster-name must be letters, digits, - _ .');
        a.clusterName = v;
        break;
      }
      case '-h':
      case '--help':
        throw new UsageError('');
      default:
        throw new UsageError(`unknown flag ${flag}`);
    }
  }
  return a;
}

/** The label the demo puts on its NodeENIs when --selector is given. */
export function selectorLabel(selector: string | undefined): Record<string, string> {
  if (!selector) return {};
  const [k, v] = selector.split('=');
  return { [k!]: v! };
}

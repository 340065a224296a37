// One simulated node in a process of its own (the hardware poll of EC2 and the node agent's worker), so a test
// can kill -9 the agent and start it again over the same node: the node dir (sysfs tree, the agent's state dir,
// the device plugin config) and the network namespace outlive the process, as the kernel outlives a crashed
// agent on a real node.
//
//   node dist/dev/stack/sim/node-process.js --name N --instance-id i-... --dir D --netns NS \
//     --temporal-address host:port [--temporal-namespace default] --ec2-endpoint http://moto [--region us-east-1] \
//     [--hold-sysfs-write bus/pci/drivers/vfio-pci/bind] [--hold-ip 'link set dev eth2 up']
//
// (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, EC2_EMULATOR_ENDPOINT and AWS_REGION stand in for the flags.)
// Stdout, one line per event:
//   ready <name> <task queue>                    the agent's worker runs
//   plugged <pci> <mac> <ifname>                 hot-plug of an attached ENI
//   unplugged <pci> <mac> driver <d> link <s>    hot-unplug after a detach: the device's driver and link then
//   sysfs write <path> <value>                   a write of the agent the kernel emulation accepted (an
//                                                empty value, such as "\n" clearing driver_override, in JSON)
//   sysfs write refused <path> <value>: <why>    one it refused
//   held sysfs write <path> <value>              --hold-sysfs-write: that write never returns (a hung syscall)
//   held ip <args>                               --hold-ip: that `ip` command never returns
// Holds are test hooks: the process stays stuck there until it is killed.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { emulatorClient, SEED_REGION } from '../seed.js';
import { nodeTaskQueue } from '../../../common/names.js';
import { errorMessage } from '../../../node-agent/errors.js';
import { SimulatedNode } from './simulated-node.js';

const say = (line: string) => process.stdout.write(`${line}\n`); // synchronous on a pipe or a file

/**
 * An `ip` that runs the real one, except the command held: that one records itself and hangs, ignoring the
 * agent's timeout (SIGTERM), until the agent's process is gone. Args compared whole, after `-n <netns>`.
 */
function holdingIp(dir: string, netns: string, held: string): { ipPath: string; heldFile: string } {
  const ipPath = path.join(dir, 'ip-holding');
  const heldFile = path.join(dir, 'ip-held');
  fs.rmSync(heldFile, { force: true });
  fs.writeFileSync(
    ipPath,
    [
      '#!/bin/sh',
      'if [ "$*" = "-n $MNENI_NETNS $MNENI_HOLD_IP" ]; then',
      "  trap '' TERM",
      '  printf \'%s\\n\' "$MNENI_HOLD_IP" > "$MNENI_HELD_FILE"',
      '  while kill -0 "$PPID" 2>/dev/null; do sleep 0.1; done',
      '  exit 1',
      'fi',
      'exec ip "$@"',
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  Object.assign(process.env, { MNENI_NETNS: netns, MNENI_HOLD_IP: held, MNENI_HELD_FILE: heldFile });
  return { ipPath, heldFile };
}

async function main(): Promise<void> {
  const { values: a } = parseArgs({
    options: {
      name: { type: 'string' },
      'instance-id': { type: 'string' },
      dir: { type: 'string' },
      netns: { type: 'string' },
      'temporal-address': { type: 'string', default: process.env.TEMPORAL_ADDRESS },
      'temporal-namespace': { type: 'string', default: process.env.TEMPORAL_NAMESPACE ?? 'default' },
      'ec2-endpoint': { type: 'string', default: process.env.EC2_EMULATOR_ENDPOINT },
      region: { type: 'string', default: process.env.AWS_REGION ?? SEED_REGION },
      'hold-sysfs-write': { type: 'string' },
      'hold-ip': { type: 'string' },
    },
    strict: true,
  });
  const need = (k: keyof typeof a): string => {
    const v = a[k];
    if (typeof v !== 'string' || v === '') throw new Error(`--${k} is required`);
    return v;
  };
  const name = need('name');
  const dir = path.resolve(need('dir'));
  const netns = need('netns');
  fs.mkdirSync(dir, { recursive: true });

  const holdWrite = a['hold-sysfs-write'];
  const holdIp = a['hold-ip'] ? holdingIp(dir, netns, a['hold-ip']) : undefined;
  if (holdIp) {
    const timer = setInterval(() => {
      if (!fs.existsSync(holdIp.heldFile)) return;
      say(`held ip ${fs.readFileSync(holdIp.heldFile, 'utf8').trim()}`);
      clearInterval(timer);
    }, 50);
  }

  const node = await SimulatedNode.start({
    name,
    instanceId: need('instance-id'),
    ec2: emulatorClient(need('ec2-endpoint'), need('region')),
    temporal: { address: need('temporal-address'), namespace: need('temporal-namespace') },
    dir,
    netns,
    ...(holdIp ? { ipPath: holdIp.ipPath } : {}),
    log: say,
    sysfsWrite: async (rel, value, react) => {
      const v = value.trim();
      const shown = `${rel} ${v === '' ? JSON.stringify(value) : v}`; // a cleared driver_override shows as "\n"
      if (rel === holdWrite) {
        say(`held sysfs write ${shown}`);
        return new Promise<never>(() => undefined);
      }
      try {
        await react(rel, value);
      } catch (err) {
        say(`sysfs write refused ${shown}: ${errorMessage(err)}`);
        throw err;
      }
      say(`sysfs write ${shown}`);
    },
  });
  say(`ready ${name} ${nodeTaskQueue(name)}`);

  // A graceful stop halts the poll and the agent and leaves the node as it is (its owner removes it).
  let stopping = false;
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.on(sig, () => {
      if (stopping) return;
      stopping = true;
      node.halt().then(
        () => process.exit(0),
        (err: unknown) => {
          console.error(errorMessage(err));
          process.exit(1);
        },
      );
    });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});

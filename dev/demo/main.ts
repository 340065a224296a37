// `npm run demo`: the local stack, the controller, a few simulated nodes and the seeds' NodeENIs, with live
// progress until every ENI is attached and configured, then what a user would check (kubectl, EC2, the
// nodes' links, DPDK and SR-IOV, the Temporal Web UI). Runs until Ctrl-C, then stops all it started.
// Plain line output: works without a terminal (CI, `--exit-when-ready`).
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { USAGE, UsageError, parseArgs, type DemoArgs } from './args.js';
import { Demo, DemoAborted } from './demo.js';

/** Printed once everything is Ready; tests and scripts wait for it. */
export const READY_LINE = 'DEMO READY';

async function main(): Promise<number> {
  let args: DemoArgs;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    if (e.message) console.error(e.message);
    console.error(USAGE);
    return e.message ? 2 : 0;
  }
  const demo = new Demo(args);
  // The node agents run in this process: their log goes to a file, the terminal keeps the demo's lines.
  // No shutdownSignals: on Ctrl-C the node agents must keep working until their ENIs are released.
  Runtime.install({
    shutdownSignals: [],
    logger: new DefaultLogger('INFO', (e) => demo.agentLog(`${new Date(Number(e.timestampNanos / 1_000_000n)).toISOString()} ${e.level} ${e.message} ${JSON.stringify(e.meta ?? {})}`)),
  });
  // The AWS SDK's notice about future Node versions says nothing about the demo.
  process.removeAllListeners('warning');
  process.on('warning', (w) => {
    if (!`${w.name} ${w.message}`.includes('NodeVersionSupportWarning')) console.error(`${w.name}: ${w.message}`);
  });
  let signalled: NodeJS.Signals | undefined;
  let signalledAt = 0;
  let wake: () => void = () => undefined;
  const stopRequested = new Promise<void>((resolve) => (wake = resolve));
  const onSignal = (sig: NodeJS.Signals) => {
    // `npm run demo` may pass the terminal's Ctrl-C on as well: one keypress is one request.
    if (signalled && Date.now() - signalledAt < 2000) return;
    if (!signalled) {
      signalled = sig;
      signalledAt = Date.now();
      demo.say(`${sig}: stopping (deleting the NodeENIs and waiting for their ENIs to be released); ${sig} again to abandon the cleanup`);
      demo.abort();
      wake();
      return;
    }
    console.error(`${sig} again: abandoning the cleanup; NodeENIs with finalizers and ENIs may be left (the fleet sweep deletes leaked ENIs)`);
    demo.abandon();
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  demo.say(`multi-eni demo: ${args.nodes} simulated node(s), the seeds' NodeENIs (3 telco cases + multi-subnet), then a multi-AZ NodeENI with telco nodes joining under the readiness taint; demo pid ${process.pid}`);
  let code = 0;
  try {
    await demo.start();
    await demo.waitReady();
    const r = await demo.report();
    await demo.readinessGate();
    const total = demo.manifests.reduce((n, m) => n + demo.desiredOf(m.obj), 0);
    demo.say(`node agents' log: ${demo.nodeAgentLog}`);
    demo.say(
      `${READY_LINE}: ${demo.manifests.length} NodeENIs, ${total}/${total} attachments Ready, ${r.enis.length} ENIs in EC2, ${demo.nodes.length} nodes; ` +
        `controller pid ${demo.controller?.pid}, netns ${demo.nodes.map((n) => n.sim.netns.name).join(' ')}`,
    );
    if (args.exitWhenReady) {
      demo.say('--exit-when-ready: cleaning up');
    } else {
      demo.say(`running; Ctrl-C (SIGINT) or SIGTERM to pid ${process.pid} stops the demo and cleans up`);
      await stopRequested;
    }
  } catch (e) {
    if (!(e instanceof DemoAborted)) {
      console.error(`demo failed: ${e instanceof Error ? e.message : String(e)}`);
      code = 1;
    }
  }
  try {
    await demo.stop();
    demo.say(`demo stopped${signalled ? ` (${signalled})` : ''}: controller, simulated nodes and Node objects are gone, every ENI released`);
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    code = 1;
  }
  return code;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : e);
    process.exit(1);
  },
);

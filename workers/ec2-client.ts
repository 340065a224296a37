// The EC2 client: one attempt per call (Temporal's retry policy owns backoff, so retries do not multiply),
// an optional endpoint override (emulators, VPC endpoints), and a middleware that counts calls.
import { EC2Client } from '@aws-sdk/client-ec2';

export type CallRecorder = (action: string, outcome: string) => void;

export function makeEc2Client(opts: { region: string; endpoint?: string; record?: CallRecorder }): EC2Client {
  const ec2 = new EC2Client({ region: opts.region, maxAttempts: 1, ...(opts.endpoint ? { endpoint: opts.endpoint } : {}) });
  if (opts.record) {
    const record = opts.record;
    ec2.middlewareStack.add(
      (next, context) => async (args) => {
        const action = String(context.commandName ?? 'Unknown').replace(/Command$/, '');
        try {
          const out = await next(args);
          record(action, 'ok');
          return out;
        } catch (err) {
          record(action, (err as { name?: string }).name ?? 'error');
          throw err;
        }
      },
      { step: 'initialize', name: 'multiEniCallCounter' },
    );
  }
  return ec2;
}

// The EC2 client: one attempt per call (Temporal's retry policy owns backoff, so retries do not multiply),
// an optional endpoint override (emulators, VPC endpoints), a middleware that counts calls, and optionally the
// per-action EC2 budget (activities/aws/ec2-budget.ts) every call waits on.
import { EC2Client } from '@aws-sdk/client-ec2';
import { addEc2BudgetMiddleware, type Ec2Budget } from './ec2-budget.js';

export type CallRecorder = (action: string, outcome: string) => void;

/**
 * The SDK's credential chain, on EC2 without IRSA, reads the instance profile from IMDS; when the IMDSv2 token
 * request is refused it falls back to IMDSv1 unless told not to. This process never does: IMDSv1 is the path of
 * SSRF credential theft. An explicit AWS_EC2_METADATA_V1_DISABLED (the chart sets it too) is left as it is.
 */
export function disableImdsV1ByDefault(env: NodeJS.ProcessEnv = process.env): void {
  env.AWS_EC2_METADATA_V1_DISABLED ??= 'true';
}

export function makeEc2Client(opts: { region: string; endpoint?: string; record?: CallRecorder; budget?: Ec2Budget }): EC2Client {
  disableImdsV1ByDefault();
  const ec2 = new EC2Client({ region: opts.region, maxAttempts: 1, ...(opts.endpoint ? { endpoint: opts.endpoint } : {}) });
  if (opts.budget) addEc2BudgetMiddleware(ec2, opts.budget);
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

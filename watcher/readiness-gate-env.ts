// The readiness gate's settings in the controller's environment (part of workers/controller.ts ControllerEnvSchema),
// each checked with a message naming the variable and the reason.
import { z } from 'zod';
import { DEFAULT_LABEL, DEFAULT_TAINT_KEY, parseGateLabel, parseGateNodeSelector, qualifiedNameError, type ReadinessGate } from './node-readiness.js';

function parsed<T>(setting: string, parse: (s: string) => T) {
  return (s: string, ctx: z.RefinementCtx): T => {
    try {
      return parse(s);
    } catch (err) {
      // The variable is named by the path; drop the setting's own name from the parser's message.
      ctx.addIssue({ code: 'custom', message: (err as Error).message.replace(`${setting}: `, '') });
      return z.NEVER;
    }
  };
}

export const ReadinessGateEnvSchema = z.object({
  /** Removes the startup taint from nodes whose matching NodeENIs are all Ready, and keeps the ready label up to date. */
  READINESS_GATE: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
  /** Key of the startup taint (any effect) that node groups / NodePools put on new nodes. */
  READINESS_GATE_TAINT: z
    .string()
    .default(DEFAULT_TAINT_KEY)
    .transform(
      parsed('READINESS_GATE_TAINT', (s) => {
        const e = qualifiedNameError(s);
        if (e) throw new Error(`taint key "${s}" ${e}`);
        return s;
      }),
    ),
  /** key=value set on nodes whose matching NodeENIs are all Ready. */
  READINESS_GATE_LABEL: z.string().default(DEFAULT_LABEL).transform(parsed('READINESS_GATE_LABEL', (s) => parseGateLabel('READINESS_GATE_LABEL', s))),
  /** k=v[,k=v]: the nodes the gate manages; empty = every node. */
  READINESS_GATE_NODE_SELECTOR: z.string().default('').transform(parsed('READINESS_GATE_NODE_SELECTOR', (s) => parseGateNodeSelector('READINESS_GATE_NODE_SELECTOR', s))),
});

/** The gate the watcher runs with, or undefined when it is off. */
export function readinessGateFromEnv(env: z.output<typeof ReadinessGateEnvSchema>): ReadinessGate | undefined {
  if (!env.READINESS_GATE) return undefined;
  return { taintKey: env.READINESS_GATE_TAINT, ...env.READINESS_GATE_LABEL, nodeSelector: env.READINESS_GATE_NODE_SELECTOR };
}

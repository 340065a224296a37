import { z } from 'zod';
import { parseEnvOrExit } from '../common/temporal-connection.js';
import { ClusterNameSchema } from './cluster-name.js';

// The controller's environment schema (workers/controller.ts) takes CLUSTER_NAME from here; its process entry
// cannot be imported in a test (it starts the controller), so the variable is checked as the entry parses it.
const Env = z.object({ CLUSTER_NAME: ClusterNameSchema });

/** parseEnvOrExit's exit code and the lines it printed. */
function refusal(env: NodeJS.ProcessEnv): { code: number | undefined; printed: string } {
  const saved = { exit: process.exit, error: console.error };
  const printed: string[] = [];
  let code: number | undefined;
  process.exit = ((c?: number) => {
    code = c;
    throw new Error(`exit ${c}`);
  }) as typeof process.exit;
  console.error = (m: unknown) => void printed.push(String(m));
  try {
    parseEnvOrExit(Env, env);
  } catch (e) {
    if (!(e instanceof Error && e.message.startsWith('exit '))) throw e;
  } finally {
    process.exit = saved.exit;
    console.error = saved.error;
  }
  return { code, printed: printed.join('\n') };
}

describe('CLUSTER_NAME', () => {
  it('is required: without it the controller exits 2 naming the variable (no silent shared "default")', () => {
    const r = refusal({ PATH: '/usr/bin' });
    expect(r.code).toBe(2);
    expect(r.printed).toContain('invalid configuration');
    expect(r.printed).toContain('  CLUSTER_NAME: required: the name of this cluster');
  });

  it.each([
    ['empty', ''],
    ['with a space', 'my cluster'],
    ['starting with a dot', '.prod'],
    ['over 100 characters', 'a'.repeat(101)],
  ])('refuses a name %s, naming the variable', (_what, value) => {
    const r = refusal({ CLUSTER_NAME: value });
    expect(r.code).toBe(2);
    expect(r.printed).toContain('  CLUSTER_NAME: letters, digits, - _ . (at most 100), starting with a letter or digit');
  });

  it.each(['prod-eks-1', 'a', 'e2e_abc.1', 'a'.repeat(100), 'default'])('accepts %s', (value) => {
    expect(parseEnvOrExit(Env, { CLUSTER_NAME: value })).toEqual({ CLUSTER_NAME: value });
  });
});

import { ReadinessGateEnvSchema, readinessGateFromEnv } from './readiness-gate-env.js';

const issues = (env: Record<string, string>) => {
  const r = ReadinessGateEnvSchema.safeParse(env);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('ReadinessGateEnvSchema', () => {
  it('is off by default, with the documented taint and label', () => {
    const env = ReadinessGateEnvSchema.parse({});
    expect(readinessGateFromEnv(env)).toBeUndefined();
    expect(readinessGateFromEnv({ ...env, READINESS_GATE: true })).toEqual({
      taintKey: 'multi-eni.networking.k8s.aws/not-ready',
      labelKey: 'multi-eni.networking.k8s.aws/ready',
      labelValue: 'true',
      nodeSelector: {},
    });
  });

  it('reads every setting', () => {
    const env = ReadinessGateEnvSchema.parse({
      READINESS_GATE: 'true',
      READINESS_GATE_TAINT: 'example.com/interfaces',
      READINESS_GATE_LABEL: 'example.com/interfaces-up=yes',
      READINESS_GATE_NODE_SELECTOR: 'pool=telco',
    });
    expect(readinessGateFromEnv(env)).toEqual({ taintKey: 'example.com/interfaces', labelKey: 'example.com/interfaces-up', labelValue: 'yes', nodeSelector: { pool: 'telco' } });
  });

  it('names the variable and the reason on bad input', () => {
    expect(issues({ READINESS_GATE: 'yes' })[0]).toMatch(/^READINESS_GATE: /);
    expect(issues({ READINESS_GATE_TAINT: 'a/b/c' })).toEqual(['READINESS_GATE_TAINT: taint key "a/b/c" has more than one "/"']);
    expect(issues({ READINESS_GATE_LABEL: 'ready' })).toEqual(['READINESS_GATE_LABEL: "ready" must be key=value, e.g. multi-eni.networking.k8s.aws/ready=true']);
    expect(issues({ READINESS_GATE_NODE_SELECTOR: 'pool' })).toEqual(['READINESS_GATE_NODE_SELECTOR: "pool" must be key=value, e.g. multi-eni.networking.k8s.aws/ready=true']);
  });
});

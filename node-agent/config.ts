// The node agent's configuration, from the environment (a DaemonSet's env and downward API), validated with
// zod. Pure: a bad variable becomes a message that names it; the worker prints it and exits.
import { z } from 'zod';
import { NODE_AGENT_DEFAULTS } from './host.js';
import { TemporalEnvSchema, type TemporalEnv } from '../common/temporal-connection.js';
import { LOG_LEVELS } from '../common/logger.js';

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const NETNS_NAME = /^[A-Za-z0-9_.-]{1,255}$/;

const absolutePath = (what: string) => z.string().startsWith('/', `must be an absolute path to ${what}`);

// The Temporal variables are the controller's (one schema): plain, mutual TLS, TLS only, or an API key.
export const NodeAgentEnvSchema = TemporalEnvSchema.extend({
    NODE_NAME: z
      .string({ error: 'is required (set it from the downward API: valueFrom.fieldRef.fieldPath spec.nodeName)' })
      .max(253)
      .regex(DNS_SUBDOMAIN, 'must be a Kubernetes node name (a DNS subdomain)'),
    TEMPORAL_ADDRESS: z.string().regex(/^[^\s/]+:\d+$/, 'must be host:port').default('localhost:7233'),
    TEMPORAL_TLS_CERT: absolutePath('the client certificate (PEM)').optional(),
    TEMPORAL_TLS_KEY: absolutePath('the client key (PEM)').optional(),
    TEMPORAL_TLS_CA: absolutePath('the CA certificate (PEM)').optional(),
    HOST_SYS: absolutePath('the host sysfs').default(NODE_AGENT_DEFAULTS.sysRoot),
    PCIDP_CONFIG: absolutePath('the SR-IOV device plugin config.json').default(NODE_AGENT_DEFAULTS.pcidpConfigPath),
    NODE_AGENT_STATE_DIR: absolutePath('the state directory').default(NODE_AGENT_DEFAULTS.stateDir),
    NODE_AGENT_NETNS: z.string().regex(NETNS_NAME, 'must be a network namespace name (as in ip netns list)').optional(),
    IMDS_ENDPOINT: z
      .string()
      .refine((v) => v === 'off' || /^https?:\/\/[^/\s]+\/?$/.test(v), 'must be an http(s)://host[:port] URL, or off')
      .default('http://169.254.169.254'),
    DEVICE_PLUGIN_NAMESPACE: z.string().max(63).regex(DNS_SUBDOMAIN, 'must be a namespace name').default('kube-system'),
    DEVICE_PLUGIN_SELECTOR: z.string().min(1).regex(/^\S+$/, 'must be a label selector without spaces, e.g. app=sriovdp').default('app=sriovdp'),
    /** Port of /healthz, /readyz and /metrics (every address: the agent runs in the host network); 0 = off. */
    LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
    METRICS_PORT: z.coerce.number({ error: 'must be a port number' }).int('must be a port number').min(0).max(65535, 'must be a port number').default(9470),
  }).superRefine((env, ctx) => {
    if ((env.TEMPORAL_TLS_CERT === undefined) !== (env.TEMPORAL_TLS_KEY === undefined)) {
      const missing = env.TEMPORAL_TLS_CERT === undefined ? 'TEMPORAL_TLS_CERT' : 'TEMPORAL_TLS_KEY';
      ctx.addIssue({ code: 'custom', path: [missing], message: 'is required when the other half of the client certificate pair is set' });
    }
  });

export interface NodeAgentConfig {
  nodeName: string;
  /** Temporal connection settings, turned into connection options by temporalConnectionOptions(). */
  temporal: TemporalEnv;
  sysRoot: string;
  pcidpConfigPath: string;
  stateDir: string;
  netns?: string;
  /** undefined: IMDS checks are off. */
  imdsEndpoint?: string;
  devicePlugin: { namespace: string; labelSelector: string };
  /** Port of the health and metrics endpoints; 0 = none. */
  metricsPort: number;
  logLevel: (typeof LOG_LEVELS)[number];
}

export type ConfigResult = { ok: true; config: NodeAgentConfig } | { ok: false; errors: string[] };

export function parseNodeAgentConfig(env: Record<string, string | undefined>): ConfigResult {
  // An empty variable (a Helm value left blank) means "not set".
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v.trim() !== ''));
  const parsed = NodeAgentEnvSchema.safeParse(cleaned);
  if (!parsed.success) {
    return { ok: false, errors: parsed.error.issues.map((i) => `${i.path.join('.') || 'environment'}: ${i.message}`) };
  }
  const e = parsed.data;
  const config: NodeAgentConfig = {
    nodeName: e.NODE_NAME,
    temporal: Object.fromEntries(Object.entries(e).filter(([k]) => k.startsWith('TEMPORAL_'))) as TemporalEnv,
    sysRoot: e.HOST_SYS,
    pcidpConfigPath: e.PCIDP_CONFIG,
    stateDir: e.NODE_AGENT_STATE_DIR,
    devicePlugin: { namespace: e.DEVICE_PLUGIN_NAMESPACE, labelSelector: e.DEVICE_PLUGIN_SELECTOR },
    metricsPort: e.METRICS_PORT,
    logLevel: e.LOG_LEVEL,
  };
  if (e.NODE_AGENT_NETNS) config.netns = e.NODE_AGENT_NETNS;
  if (e.IMDS_ENDPOINT !== 'off') config.imdsEndpoint = e.IMDS_ENDPOINT.replace(/\/$/, '');
  return { ok: true, config };
}

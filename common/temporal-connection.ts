// Temporal connection settings shared by every process: plain, mutual TLS, or an API key (Temporal Cloud).
import fs from 'node:fs';
import { z } from 'zod';
import type { TLSConfig } from '@temporalio/client';

/** What both Connection (client) and NativeConnection (worker) accept. */
export interface TemporalConnectionSettings {
  address: string;
  tls?: TLSConfig;
  apiKey?: string;
}

export const TemporalEnvSchema = z.object({
  TEMPORAL_ADDRESS: z.string().min(1).default('localhost:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  /** Client certificate and key for mutual TLS (self-hosted with mTLS, or Temporal Cloud with certificates). */
  TEMPORAL_TLS_CERT: z.string().optional(),
  TEMPORAL_TLS_KEY: z.string().optional(),
  /** CA bundle for a server certificate not signed by a public CA. */
  TEMPORAL_TLS_CA: z.string().optional(),
  TEMPORAL_TLS_SERVER_NAME: z.string().optional(),
  /** "true" turns TLS on without client certificates (e.g. API-key auth). */
  TEMPORAL_TLS: z.enum(['true', 'false']).optional(),
  /** Temporal Cloud API key; implies TLS. */
  TEMPORAL_API_KEY: z.string().optional(),
});
export type TemporalEnv = z.infer<typeof TemporalEnvSchema>;

function readFile(variable: string, file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw new Error(`${variable}: cannot read ${file}: ${(e as Error).message}`);
  }
}

/** Connection options for @temporalio/client and @temporalio/worker (NativeConnection takes the same shape). */
export function temporalConnectionOptions(env: TemporalEnv): TemporalConnectionSettings {
  if (Boolean(env.TEMPORAL_TLS_CERT) !== Boolean(env.TEMPORAL_TLS_KEY)) {
    throw new Error('TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY: set both for mutual TLS, or neither');
  }
  const mtls = env.TEMPORAL_TLS_CERT && env.TEMPORAL_TLS_KEY;
  const tlsOn = Boolean(mtls || env.TEMPORAL_TLS_CA || env.TEMPORAL_API_KEY || env.TEMPORAL_TLS === 'true');
  return {
    address: env.TEMPORAL_ADDRESS,
    ...(tlsOn
      ? {
          tls: {
            ...(env.TEMPORAL_TLS_SERVER_NAME ? { serverNameOverride: env.TEMPORAL_TLS_SERVER_NAME } : {}),
            ...(env.TEMPORAL_TLS_CA ? { serverRootCACertificate: readFile('TEMPORAL_TLS_CA', env.TEMPORAL_TLS_CA) } : {}),
            ...(mtls
              ? { clientCertPair: { crt: readFile('TEMPORAL_TLS_CERT', env.TEMPORAL_TLS_CERT!), key: readFile('TEMPORAL_TLS_KEY', env.TEMPORAL_TLS_KEY!) } }
              : {}),
          },
        }
      : {}),
    ...(env.TEMPORAL_API_KEY ? { apiKey: env.TEMPORAL_API_KEY } : {}),
  };
}

/** Parses process configuration, exiting with a message that names each bad variable. */
export function parseEnvOrExit<T extends z.ZodType>(schema: T, env: NodeJS.ProcessEnv = process.env): z.output<T> {
  const r = schema.safeParse(env);
  if (r.success) return r.data;
  // Name the variable itself; a position inside a list value (COMPONENTS=a,b) or a key of a JSON value goes into the message.
  const lines = r.error.issues.map((i) => {
    const [variable, ...rest] = i.path.map(String);
    const where = !rest.length ? '' : typeof i.path[1] === 'number' ? `item ${Number(rest[0]) + 1}: ` : `${rest.join('.')}: `;
    return `  ${variable ?? '(environment)'}: ${where}${i.message}`;
  });
  console.error(`invalid configuration:\n${lines.join('\n')}`);
  process.exit(2);
}

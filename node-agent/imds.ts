// EC2 instance metadata, IMDSv2 only: every read carries a session token obtained with PUT /latest/api/token.
// There is deliberately no IMDSv1 fallback (a token-less GET): if the token cannot be had, the read fails.
// The agent only reads metadata; it never changes the instance's metadata options.

export interface ImdsOptions {
  /** Base URL, e.g. http://169.254.169.254 (no trailing path). */
  endpoint: string;
  /** Per-request timeout. */
  timeoutMs?: number;
  /** Attempts per request for network errors, timeouts and 5xx. */
  attempts?: number;
  /** Backoff before the second attempt; doubles each time. */
  backoffMs?: number;
  tokenTtlSeconds?: number;
  fetch?: typeof fetch;
}

export class ImdsError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ImdsError';
  }
}

const TOKEN_PATH = '/latest/api/token';
const TTL_HEADER = 'X-aws-ec2-metadata-token-ttl-seconds';
const TOKEN_HEADER = 'X-aws-ec2-metadata-token';

export class ImdsClient {
  private readonly endpoint: string;
  private readonly timeoutMs: number;
  private readonly attempts: number;
  private readonly backoffMs: number;
  private readonly ttl: number;
  private readonly fetchFn: typeof fetch;
  private token?: { value: string; expiresAt: number };

  constructor(opts: ImdsOptions) {
    this.endpoint = opts.endpoint.replace(/\/+$/, '');
    this.timeoutMs = opts.timeoutMs ?? 2000;
    this.attempts = Math.max(1, opts.attempts ?? 3);
    this.backoffMs = opts.backoffMs ?? 200;
    this.ttl = opts.tokenTtlSeconds ?? 21600;
    this.fetchFn = opts.fetch ?? fetch;
  }

  /** One HTTP exchange with retries on transport errors and 5xx; other statuses are returned to the caller. */
  private async request(method: 'GET' | 'PUT', path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
    let lastError: unknown;
    for (let attempt = 0; attempt < this.attempts; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, this.backoffMs * 2 ** (attempt - 1)));
      try {
        const res = await this.fetchFn(`${this.endpoint}${path}`, { method, headers, signal: AbortSignal.timeout(this.timeoutMs), redirect: 'error' });
        const body = await res.text();
        if (res.status >= 500) {
          lastError = new ImdsError(`IMDS ${method} ${path}: HTTP ${res.status}`, res.status);
          continue;
        }
        return { status: res.status, body };
      } catch (err) {
        lastError = err;
      }
    }
    const reason = lastError instanceof Error ? lastError.message : String(lastError);
    throw new ImdsError(`IMDS ${method} ${path} failed after ${this.attempts} attempts: ${reason}`);
  }

  private async sessionToken(): Promise<string> {
    // Renew a minute early so a token never expires between fetching and using it.
    if (this.token && Date.now() < this.token.expiresAt - 60_000) return this.token.value;
    const res = await this.request('PUT', TOKEN_PATH, { [TTL_HEADER]: String(this.ttl) });
    if (res.status !== 200 || res.body.trim() === '') {
      throw new ImdsError(`IMDSv2 token request refused: HTTP ${res.status} (IMDSv1 is never used as a fallback)`, res.status);
    }
    this.token = { value: res.body.trim(), expiresAt: Date.now() + this.ttl * 1000 };
    return this.token.value;
  }

  /** GET a metadata path; undefined on 404. A 401 (expired or revoked token) gets one fresh token. */
  async get(path: string): Promise<string | undefined> {
    for (let round = 0; round < 2; round++) {
      const token = await this.sessionToken();
      const res = await this.request('GET', path, { [TOKEN_HEADER]: token });
      if (res.status === 200) return res.body;
      if (res.status === 404) return undefined;
      if (res.status === 401 && round === 0) {
        delete this.token;
        continue;
      }
      throw new ImdsError(`IMDS GET ${path}: HTTP ${res.status}`, res.status);
    }
    throw new ImdsError(`IMDS GET ${path}: token rejected twice`, 401);
  }

  private async required(path: string): Promise<string> {
    const v = await this.get(path);
    if (v === undefined || v.trim() === '') throw new ImdsError(`IMDS ${path} is missing`, 404);
    return v.trim();
  }

  instanceId(): Promise<string> {
    return this.required('/latest/meta-data/instance-id');
  }

  region(): Promise<string> {
    return this.required('/latest/meta-data/placement/region');
  }

  /** The ENI behind a MAC address, undefined when IMDS does not (yet) list that MAC. */
  async eniIdForMac(mac: string): Promise<string | undefined> {
    // IMDS paths carry the MAC with its colons as they are; anything else cannot be a MAC.
    const m = mac.toLowerCase();
    if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(m)) throw new ImdsError(`not a MAC address: ${JSON.stringify(mac)}`);
    const v = await this.get(`/latest/meta-data/network/interfaces/macs/${m}/interface-id`);
    return v?.trim() || undefined;
  }

  /** Every MAC of the instance and its ENI ID. */
  async macToEni(): Promise<Map<string, string>> {
    const listing = (await this.get('/latest/meta-data/network/interfaces/macs/')) ?? '';
    const macs = listing
      .split('\n')
      .map((l) => l.trim().replace(/\/$/, '').toLowerCase())
      .filter((l) => l !== '');
    const map = new Map<string, string>();
    for (const mac of macs) {
      const eni = await this.eniIdForMac(mac);
      if (eni) map.set(mac, eni);
    }
    return map;
  }
}

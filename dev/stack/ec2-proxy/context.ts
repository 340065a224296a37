// What every part of the proxy is handed: its state, its way to moto, its log.
import type { Answer } from './answers.js';
import type { ProxyState } from './state.js';
import type { Upstream } from './upstream.js';

export interface ProxyContext {
  state: ProxyState;
  upstream: Upstream;
  /** moto's base URL. */
  target: URL;
  log: (line: string) => void;
}

/** A forward of the caller's request to moto, or of `params` in its place (the proxy rewrote it). */
export type Forward = (params?: ReadonlyMap<string, string>) => Promise<Answer>;

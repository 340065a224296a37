// Client of the EC2 fault proxy's control API (`/_proxy/...`), shared by the tests and the benchmarks.

/**
 * A keep-alive connection the proxy closed at its idle timeout just as fetch reused it fails with "other side
 * closed" before any answer (seen in CI when the event loop lagged past fetch's own idle timer). Every control
 * call is idempotent (reset, faults, semantics, reading calls), so such a call is sent once more on a new
 * connection; any other failure, and any answer, is the caller's.
 */
// By name, not instanceof: under Jest's VM modules fetch's TypeError comes from another realm.
function isStaleConnection(e: unknown): boolean {
  const code = (e as { cause?: { code?: unknown } }).cause?.code;
  return (e as { name?: unknown }).name === 'TypeError' && (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET');
}

/** One control call: `controlUrl` is the proxy's `.../_proxy` base, `route` e.g. `/reset`; the JSON answer. */
export async function proxyControlCall(controlUrl: string, method: 'GET' | 'POST' | 'PUT', route: string, body?: unknown): Promise<unknown> {
  const init: RequestInit = {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  };
  const url = `${controlUrl}${route}`;
  const r = await fetch(url, init).catch((e: unknown) => {
    if (isStaleConnection(e)) return fetch(url, init);
    throw e;
  });
  if (!r.ok) throw new Error(`ec2 proxy ${method} ${route}: ${r.status} ${await r.text()}`);
  return r.json();
}

// DetachNetworkInterface: EC2 answers at once and detaches after the `detaching` window; the proxy defers the
// detach it forwards to moto by as long.
import type http from 'node:http';
import { okXml, type Answer } from '../answers.js';
import { drawWindow } from '../config.js';
import type { Forward, ProxyContext } from '../context.js';
import { describeEnis } from '../lookups.js';
import type { ProxyState } from '../state.js';
import { errorCodeOf } from '../xml.js';

export async function detachNetworkInterface(ctx: ProxyContext, params: Map<string, string>, headers: http.IncomingHttpHeaders, fwd: Forward): Promise<Answer & { deferred?: boolean; windowMs?: number }> {
  const state = ctx.state;
  const attachmentId = params.get('AttachmentId') ?? '';
  const windowMs = drawWindow(state.semantics.detachingMs, state.windowRand);
  if (windowMs === 0) return fwd();
  let eni = state.attachmentEni.get(attachmentId);
  if (!eni) eni = (await describeEnis(ctx, headers, 'attachment.attachment-id', attachmentId))?.[0]?.id;
  if (!eni) return fwd(); // unknown attachment: moto answers InvalidAttachmentID.NotFound
  if (state.detaching.has(eni)) return { ...okXml('DetachNetworkInterface'), deferred: true };
  // EC2 answers at once and detaches later; the real detach reaches moto when the window ends.
  const id = eni;
  let done: Promise<void> | undefined;
  // Runs once, whether the timer fires or a reset flushes it first.
  const run = () =>
    (done ??= (async () => {
      clearTimeout(entry.timer);
      const a = await fwd();
      if (a.status !== 200) ctx.log(`ec2-proxy: deferred detach of ${id} (${attachmentId}) failed: HTTP ${a.status} ${errorCodeOf(a.body.toString()) ?? ''}`);
      if (state.detaching.get(id) === entry) state.detaching.delete(id);
      state.attachmentEni.delete(attachmentId);
    })());
  const entry = { timer: setTimeout(() => void run(), windowMs), run };
  state.detaching.set(id, entry);
  state.attachingUntil.delete(id);
  return { ...okXml('DetachNetworkInterface'), deferred: true, windowMs };
}

/** Forwards every pending detach now, so moto matches what the clients were told. */
export async function flushDetaches(state: ProxyState): Promise<void> {
  await Promise.all([...state.detaching.values()].map((d) => d.run()));
}

/** Pending deferred detaches are dropped, not flushed: closing is for the end of a run, when moto goes too. */
export function dropDetaches(state: ProxyState): void {
  for (const d of state.detaching.values()) clearTimeout(d.timer);
  state.detaching.clear();
}

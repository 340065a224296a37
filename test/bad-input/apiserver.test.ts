// Every generated `rejected` manifest is refused by the real apiserver when created (with kubectl's strict field
// validation), with a message naming the field it breaks; and the controller's own parser refuses it naming the
// same field. The seeds themselves go through the same path and are admitted (so a refusal is the manifest's fault).
import { API_GROUP, API_VERSION, NODEENI_PLURAL } from '../../common/names.js';
import { parseSpec } from '../../common/nodeeni.js';
import { kubeClients, uniq } from '../support/env.js';
import { manifest, namesField, parserPath, rejectedCases, seedSpecs, type BadCase } from './generate.js';

const cases = rejectedCases();
const k = kubeClients();
const runLabel = uniq('bad-input');

type Answer = { admitted: true } | { admitted: false; code?: number; message: string };

/** Creates the object as `kubectl create`/`apply` would (strict field validation); the apiserver's answer. */
async function create(body: unknown, dryRun = false): Promise<Answer> {
  try {
    await k.custom.createClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODEENI_PLURAL, body, fieldValidation: 'Strict', ...(dryRun ? { dryRun: 'All' } : {}) });
    return { admitted: true };
  } catch (e) {
    const err = e as { code?: number; body?: unknown; message?: string };
    let message = String(err.body ?? err.message ?? e);
    try {
      const status = JSON.parse(message) as { message?: string; details?: { causes?: { field?: string; message?: string }[] } };
      // The Status message lists every error; causes carry the field separately (kept for the report).
      message = [status.message ?? '', ...(status.details?.causes ?? []).map((c) => `cause ${c.field ?? ''}: ${c.message ?? ''}`)].join('\n');
    } catch {
      // not JSON: keep the raw text
    }
    return { admitted: false, code: err.code, message };
  }
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (t: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}

const nameOf = (c: BadCase) => `${runLabel}-${c.id}`;
const problem = (c: BadCase, what: string) => `${c.id} [${c.field}] ${c.mutation} (from ${c.base}): ${what}`;

describe('generated bad NodeENI manifests at the apiserver', () => {
  afterAll(async () => {
    // Whatever was admitted by mistake is not left behind.
    const list = (await k.custom.listClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODEENI_PLURAL, labelSelector: `bad-input-run=${runLabel}` })) as { items: { metadata: { name: string } }[] };
    for (const o of list.items) await k.custom.deleteClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODEENI_PLURAL, name: o.metadata.name }).catch(() => undefined);
  });

  it('the generator makes a few hundred distinct rejected cases, every one labelled with a field path', () => {
    expect(cases.length).toBeGreaterThanOrEqual(300);
    expect(new Set(cases.map((c) => c.id)).size).toBe(cases.length);
    expect(new Set(cases.map((c) => JSON.stringify(c.spec))).size).toBe(cases.length);
    for (const c of cases) expect(c.field).toMatch(/^spec(\.|$)/);
    const seeds = new Set([...seedSpecs().values()].map((s) => JSON.stringify(s)));
    expect(cases.filter((c) => seeds.has(JSON.stringify(c.spec)))).toEqual([]);
    const byField = new Map<string, number>();
    for (const c of cases) byField.set(c.field.replace(/\[\d+\]|\.ng$/g, ''), (byField.get(c.field.replace(/\[\d+\]|\.ng$/g, '')) ?? 0) + 1);
    console.log(`${cases.length} rejected cases by field: ${[...byField].map(([f, n]) => `${f} ${n}`).join(', ')}`);
  });

  it("the controller's parser refuses every case, naming the field", () => {
    const problems: string[] = [];
    for (const c of cases) {
      const r = parseSpec(c.spec);
      if (r.ok) problems.push(problem(c, 'accepted'));
      else if (!namesField(r.error, parserPath(c.field))) problems.push(problem(c, `does not name ${parserPath(c.field)}: ${r.error}`));
      else for (const m of c.mentions ?? []) if (!r.error.includes(m)) problems.push(problem(c, `does not mention ${m}: ${r.error}`));
    }
    expect(problems).toEqual([]);
  });

  it('the seeds go through the same request and are admitted (dry run)', async () => {
    for (const [file, spec] of seedSpecs()) {
      const name = `${runLabel}-seed-${file.replace(/\.yaml$/, '').replace(/[^a-z0-9-]/g, '-')}`;
      expect({ file, answer: await create(manifest({ spec } as BadCase, name, { 'bad-input-run': runLabel }), true) }).toEqual({ file, answer: { admitted: true } });
    }
  });

  it('the apiserver refuses every case with 422 or 400 and a message naming the field; nothing is stored', async () => {
    const started = Date.now();
    const answers = await mapLimit(cases, 6, (c) => create(manifest(c, nameOf(c), { 'bad-input-run': runLabel })));
    const problems: string[] = [];
    answers.forEach((a, i) => {
      const c = cases[i]!;
      if (a.admitted) problems.push(problem(c, 'admitted'));
      else if (a.code !== 422 && a.code !== 400) problems.push(problem(c, `answered ${a.code}: ${a.message}`));
      else if (!namesField(a.message, c.field)) problems.push(problem(c, `does not name ${c.field}: ${a.message}`));
      else for (const m of c.mentions ?? []) if (!a.message.includes(m)) problems.push(problem(c, `does not mention ${m}: ${a.message}`));
    });
    console.log(`${cases.length} rejected cases applied in ${((Date.now() - started) / 1000).toFixed(1)} s: ${answers.filter((a) => !a.admitted).length} refused, ${problems.length} problems`);
    expect(problems).toEqual([]);
    const stored = (await k.custom.listClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODEENI_PLURAL, labelSelector: `bad-input-run=${runLabel}` })) as { items: unknown[] };
    expect(stored.items).toEqual([]);
  });
});

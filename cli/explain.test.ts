import { adviceFor, explainPair, formatExplanations, type PairFacts } from './explain.js';

const NOW = new Date('2026-12-02T12:00:00Z');
const base: PairFacts = { nodeENI: 'ne', node: 'n1', workflowId: 'nodeeni/ne/n1', workflowStatus: 'RUNNING', pending: [], entries: [] };

describe('explainPair', () => {
  it('a step retrying: which, attempt, for how long, the failure, and what to do', () => {
    const e = explainPair(
      {
        ...base,
        pending: [{ type: 'createEni', attempt: 4, state: 'SCHEDULED', lastFailure: 'CreateNetworkInterface: RequestLimitExceeded: Request limit exceeded.', since: '2026-12-02T11:59:30Z' }],
        entries: [{ nodeID: 'n1', subnetID: 'subnet-1', phase: 'Creating' }],
        webUi: 'http://ui/namespaces/default/workflows/nodeeni%2Fne%2Fn1',
      },
      NOW,
    );
    expect(e.summary).toBe('converging on n1, stuck retrying createEni: attempt 4 for 30 s; last failure: CreateNetworkInterface: RequestLimitExceeded: Request limit exceeded.');
    expect(e.todo).toMatch(/^EC2 is throttling this account/);
    expect(e.details).toEqual(['subnet subnet-1: Creating', 'history: http://ui/namespaces/default/workflows/nodeeni%2Fne%2Fn1']);
  });

  it('a node agent that does not take its task', () => {
    const e = explainPair({ ...base, pending: [{ type: 'configureInterface', attempt: 1, state: 'SCHEDULED', since: '2026-12-02T11:55:00Z' }] }, NOW);
    expect(e.summary).toBe('waiting for the node agent on n1 to take configureInterface for 5 min');
    expect(e.todo).toContain('--field-selector spec.nodeName=n1');
  });

  it('no workflow, an ended one, a Ready one, a failed one, one waiting for a slot', () => {
    const { workflowStatus: _drop, ...none } = base;
    expect(explainPair(none).summary).toBe('no lifecycle for node n1: the watcher has not started one');
    expect(explainPair({ ...base, workflowStatus: 'COMPLETED' }).summary).toBe('the lifecycle on n1 has ended (COMPLETED): nothing runs for this pair');
    expect(explainPair({ ...base, state: { phase: 'Ready', converging: false, releasing: false } })).toEqual({ summary: 'Ready on n1: nothing to do', details: [] });
    const failed = explainPair({ ...base, state: { phase: 'Failed', converging: false, releasing: false, lastError: "i-1 does not carry the tag kubernetes.io/cluster/c1=owned|shared" } });
    expect(failed.summary).toBe("failed on n1, retried on its backoff: i-1 does not carry the tag kubernetes.io/cluster/c1=owned|shared");
    expect(failed.todo).toMatch(/^tag the node's instance/);
    const slot = explainPair({ ...base, state: { phase: 'Pending', converging: false, releasing: false }, entries: [{ nodeID: 'n1', subnetID: 's', phase: 'Pending', message: 'no free device index at or above 3 on i-1' }] });
    expect(slot.summary).toBe('waiting on n1: no free device index at or above 3 on i-1');
    expect(slot.todo).toMatch(/^free a device slot/);
  });

  it('advice only where a rule knows the failure', () => {
    expect(adviceFor('something odd', 'n1')).toBeUndefined();
    expect(adviceFor("no listed subnet is in us-east-1b, ...", 'n1')).toMatch(/availability zone/);
  });

  it('prints the NodeENI, its conditions, and each pair with what to do', () => {
    const text = formatExplanations('ne', ['Ready=False (Progressing): 0/1'], [{ summary: 's', details: ['d'], todo: 't' }]);
    expect(text).toBe('NodeENI ne\n  Ready=False (Progressing): 0/1\n\n- s\n    d\n    what to do: t\n');
  });
});

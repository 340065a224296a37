// Device indexes this process is attaching at, per instance. Pairs converging on one node plan from views taken
// at about the same time, so they ask for the same index; a reservation makes the second one move past the first
// without a refused call or a describe, and without holding one pair up behind another. A reservation lasts while
// its attach call is in flight (the caller releases it when EC2 answers); the hold is only a bound in case it
// never does.

export class IndexReservations {
  private readonly byInstance = new Map<string, Map<number, { eniId: string; until: number }>>();

  constructor(
    private readonly holdMs = 30_000,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Indexes reserved on the instance for other ENIs. */
  heldByOthers(instanceId: string, eniId: string): number[] {
    const held = this.byInstance.get(instanceId);
    if (!held) return [];
    const now = this.clock();
    for (const [index, r] of held) if (r.until <= now) held.delete(index);
    if (held.size === 0) this.byInstance.delete(instanceId);
    return [...held].filter(([, r]) => r.eniId !== eniId).map(([index]) => index);
  }

  reserve(instanceId: string, eniId: string, index: number): void {
    let held = this.byInstance.get(instanceId);
    if (!held) this.byInstance.set(instanceId, (held = new Map()));
    held.set(index, { eniId, until: this.clock() + this.holdMs });
  }

  /** Gives the index back (the attach did not happen there). */
  release(instanceId: string, eniId: string, index: number): void {
    const held = this.byInstance.get(instanceId);
    if (held?.get(index)?.eniId === eniId) held.delete(index);
  }
}

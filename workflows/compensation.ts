// Compensation as an explicit list: each step that made something pushes how to undo it; a failure later in
// the same unit of work runs the list backwards. Workflow code, so undo steps are activities.

export class Compensation {
  private readonly steps: { what: string; undo: () => Promise<void> }[] = [];

  /** Records how to undo a step that succeeded. */
  add(what: string, undo: () => Promise<void>): void {
    this.steps.push({ what, undo });
  }

  /** What would be undone, most recent first (for logs and the state query). */
  pending(): string[] {
    return this.steps.map((s) => s.what).reverse();
  }

  /** Undoes every recorded step, most recent first, and forgets them. */
  async run(): Promise<void> {
    while (this.steps.length) await this.steps.pop()!.undo();
  }

  /** The unit of work succeeded: nothing to undo any more. */
  clear(): void {
    this.steps.length = 0;
  }
}

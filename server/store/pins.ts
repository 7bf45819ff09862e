/**
 * Holds a backup takes on files it will copy: while one is held, nothing those files are is
 * removed, and work that removes them waits (`free`) until the last hold is let go. The git
 * repository's object files (`pinObjects`) and the messages' body files (`pinBodies`) each keep one.
 */
export class Pins {
  private count = 0;
  private readonly waiting: (() => void)[] = [];

  /** Whether a hold is held now. */
  get held(): boolean {
    return this.count > 0;
  }

  /** Hold until the function returned is called (once: later calls do nothing). */
  hold(): () => void {
    this.count++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.count === 0) this.wake();
    };
  }

  /** Resolves once no hold is held. */
  free(): Promise<void> {
    return this.count === 0 ? Promise.resolve() : new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Let everything waiting for `free` go now (a close: it stops at its next step). */
  wake(): void {
    for (const go of this.waiting.splice(0)) go();
  }
}

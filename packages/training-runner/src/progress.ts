/** Training progress: an in-place bar on a terminal, periodic plain lines otherwise (CI logs, pipes). */
export class Progress {
  private readonly tty: boolean;
  private lastLen = 0;
  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly logEvery: number,
    private readonly out: NodeJS.WriteStream = process.stdout,
  ) {
    this.tty = Boolean(out.isTTY);
  }

  update(step: number, loss: number, examplesPerSecond: number): void {
    const status = `loss ${loss.toFixed(4)}  ${examplesPerSecond.toFixed(0)} img/s`;
    if (this.tty) {
      const width = 24;
      const filled = Math.round((width * step) / this.total);
      const text = `${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${step}/${this.total}  ${status}`;
      this.out.write(`\r${text.padEnd(this.lastLen)}`);
      this.lastLen = text.length;
    } else if (step % this.logEvery === 0 || step === this.total) {
      this.out.write(`${this.label} step ${step}/${this.total}  ${status}\n`);
    }
  }

  /** Replace the bar with a permanent line. */
  done(line: string): void {
    if (this.tty) this.out.write(`\r${' '.repeat(this.lastLen)}\r`);
    this.lastLen = 0;
    this.out.write(`${line}\n`);
  }
}

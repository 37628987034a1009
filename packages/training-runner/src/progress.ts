/**
 * Training progress: a cli-progress bar on a terminal, periodic plain lines otherwise (CI logs, pipes,
 * the parallel units of `--jobs`, whose output is interleaved line by line).
 */
import cliProgress from 'cli-progress';

export class Progress {
  private readonly bar: cliProgress.SingleBar | null;
  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly logEvery: number,
    private readonly out: NodeJS.WriteStream = process.stdout,
  ) {
    this.bar = out.isTTY
      ? new cliProgress.SingleBar(
          { format: `${label} [{bar}] {value}/{total}  loss {loss}  {rate}`, stream: out, barsize: 24, hideCursor: true, clearOnComplete: true },
          cliProgress.Presets.legacy,
        )
      : null;
    this.bar?.start(total, 0, { loss: '-', rate: '' });
  }

  update(step: number, loss: number, rate: string): void {
    if (this.bar !== null) this.bar.update(step, { loss: loss.toFixed(4), rate });
    else if (step % this.logEvery === 0 || step === this.total) this.out.write(`${this.label} step ${step}/${this.total}  loss ${loss.toFixed(4)}  ${rate}\n`);
  }

  /** Replace the bar with a permanent line. */
  done(line: string): void {
    this.bar?.stop();
    this.out.write(`${line}\n`);
  }
}

/**
 * Progress for long work: one line rewritten in place on a terminal; on a pipe or a CI log,
 * a line whenever what it says (not just the block number) changes.
 */
export class ProgressLine {
  private lastShape = '';
  private wroteInPlace = false;

  constructor(private readonly out: NodeJS.WriteStream) {}

  update(text: string): void {
    if (this.out.isTTY === true) {
      this.out.write(`\r\x1b[2K${text}`);
      this.wroteInPlace = true;
      return;
    }
    const shape = text.replace(/^block \d+/, '');
    if (shape === this.lastShape) return;
    this.lastShape = shape;
    this.out.write(`${text}\n`);
  }

  done(): void {
    if (this.wroteInPlace) this.out.write('\n');
    this.wroteInPlace = false;
  }
}

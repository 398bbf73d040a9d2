import { Writable } from 'node:stream';

/** A writable stream that keeps what is written: a command's output, read back by a test. */
export class Collector extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString('utf8');
    callback();
  }
}

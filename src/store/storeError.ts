/** A store that cannot be trusted: names the file and what is wrong with it. */
export class StoreError extends Error {
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'StoreError';
  }
}

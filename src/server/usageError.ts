/** A mistake in how `prs` was called: reported with the usage text and exit code 2. */
export class UsageError extends Error {
  /** The command was asked for --json: the refusal still ends with the summary line. */
  constructor(
    message: string,
    readonly json = false,
  ) {
    super(message);
  }
}

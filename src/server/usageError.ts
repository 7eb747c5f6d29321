/** A mistake in how `prs` was called: reported with the usage text and exit code 2. */
export class UsageError extends Error {}

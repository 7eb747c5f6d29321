import type { ErrorInfo } from '../common/protocol';

/** Any thrown value as the protocol's ErrorInfo, stack included. */
export function errorInfo(err: unknown): ErrorInfo {
  if (err instanceof Error) return { type: err.name || 'Error', message: err.message, traceback: err.stack };
  return { type: 'Error', message: `a non-Error value was thrown: ${String(err)}` };
}

// A question to the host whose answer a component shows: asked again when its params change, once
// they have settled, and an answer to params no longer current is dropped.

import { useEffect, useState } from 'react';
import type { ApiMethod, ApiParams, ApiResult } from '../../../common/contract';
import { useStore } from '../store';

/** An error's message, for showing (a rejected request's is the host's own). */
export const errText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** `value` once it has stayed the same for `ms` (the first value at once). */
export function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

export interface HostAnswer<T> {
  /** The latest answer (kept while a newer question is out); null before the first. */
  result: T | null;
  /** Why the latest question failed, or null. */
  error: string | null;
}

/** `params` null: nothing to ask (the answer is cleared). Params compare by their JSON. */
export function useHostQuery<M extends ApiMethod>(
  method: M,
  params: ApiParams<M> | null,
  settleMs = 0,
): HostAnswer<ApiResult<M>> {
  const key = useDebounced(JSON.stringify(params), settleMs);
  const [answer, setAnswer] = useState<HostAnswer<ApiResult<M>>>({ result: null, error: null });
  useEffect(() => {
    const p = JSON.parse(key) as ApiParams<M> | null;
    if (p === null) return setAnswer({ result: null, error: null });
    let live = true;
    useStore
      .getState()
      .request(method, p)
      .then((result) => live && setAnswer({ result, error: null }))
      .catch((err: unknown) => live && setAnswer({ result: null, error: errText(err) }));
    return () => {
      live = false;
    };
  }, [method, key]);
  return answer;
}

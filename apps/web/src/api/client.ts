/**
 * Thin fetch wrapper for the ViolaWake API: bearer header from the stored session, JSON in and out, and errors
 * turned into ApiError with a message a person can act on (docs/api.md §1.3).
 */

const TOKEN_KEY = 'violawake.token';

type Listener = () => void;
const unauthorizedListeners = new Set<Listener>();

export function getToken(): string | null {
  try {
    return localStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function setToken(token: string | null): void {
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
}

/** Called when a request carrying our token answers 401 (expired or revoked session). */
export function onUnauthorized(listener: Listener): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

export interface FieldError {
  loc: (string | number)[];
  msg: string;
  type: string;
}

export class ApiError extends Error {
  readonly status: number;
  readonly detail: unknown;
  readonly headers: Headers | null;
  readonly fieldErrors: FieldError[];

  constructor(status: number, message: string, detail: unknown, headers: Headers | null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.detail = detail;
    this.headers = headers;
    this.fieldErrors = Array.isArray(detail) ? (detail as FieldError[]) : [];
  }

  /** Seconds from Retry-After, when the server sent one. */
  get retryAfter(): number | null {
    const value = this.headers?.get('Retry-After');
    if (!value) return null;
    const n = Number(value);
    return Number.isFinite(n) ? n : null;
  }

  /** The message for one form field from a 422 body (matched on the last `loc` element). */
  fieldMessage(field: string): string | null {
    const hit = this.fieldErrors.find((e) => e.loc[e.loc.length - 1] === field);
    return hit ? hit.msg : null;
  }
}

export function describeWait(seconds: number): string {
  const n = Math.max(1, Math.round(seconds));
  if (n < 60) return n === 1 ? '1 second' : `${n} seconds`;
  const minutes = Math.ceil(seconds / 60);
  return minutes === 1 ? '1 minute' : `${minutes} minutes`;
}

function fieldName(loc: (string | number)[]): string {
  const last = loc[loc.length - 1];
  return typeof last === 'string' ? last.replace(/_/g, ' ') : 'value';
}

export function errorMessage(status: number, detail: unknown, headers: Headers | null): string {
  const retry = headers?.get('Retry-After');
  if (status === 429) {
    return retry
      ? `Too many attempts. Please wait ${describeWait(Number(retry))} and try again.`
      : 'Too many attempts. Please wait a moment and try again.';
  }
  if (status === 423 && typeof detail === 'string') {
    return retry ? `${detail} (about ${describeWait(Number(retry))})` : detail;
  }
  if (Array.isArray(detail)) {
    const parts = (detail as FieldError[]).map((e) => `${fieldName(e.loc)}: ${e.msg}`);
    return parts.length ? parts.join('; ') : 'The request was not valid.';
  }
  if (typeof detail === 'string' && detail) return detail;
  if (status >= 500) return 'The server had a problem. Please try again in a moment.';
  return `Request failed (${status}).`;
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  form?: FormData;
  auth?: boolean;
  signal?: AbortSignal;
  headers?: Record<string, string>;
}

export async function apiFetch(path: string, options: RequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json', ...options.headers };
  const token = options.auth === false ? null : getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  let body: BodyInit | undefined;
  if (options.form) body = options.form;
  else if (options.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  let res: Response;
  try {
    res = await fetch(path, {
      method: options.method ?? (body ? 'POST' : 'GET'),
      headers,
      body,
      signal: options.signal,
    });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 'Could not reach the server. Check your connection and try again.', null, null);
  }
  if (!res.ok) {
    let detail: unknown = null;
    try {
      detail = ((await res.json()) as { detail?: unknown }).detail ?? null;
    } catch {
      detail = null;
    }
    if (res.status === 401 && token) for (const l of unauthorizedListeners) l();
    throw new ApiError(res.status, errorMessage(res.status, detail, res.headers), detail, res.headers);
  }
  return res;
}

export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const res = await apiFetch(path, options);
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

/** Mints a single-use 60 s token for a download or the training stream (docs/api.md §2.2, §4.1). */
export async function mintDownloadToken(
  action: 'model_download' | 'training_stream',
  resourceId: number,
): Promise<string> {
  const res = await api<{ token: string }>('/api/auth/download-token', {
    method: 'POST',
    body: { action, resource_id: resourceId },
  });
  return res.token;
}

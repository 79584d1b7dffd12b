// The dashboard's session: the token (sessionStorage, this tab only), the caller's permissions, and
// JSON calls to /v1. Which permission a request needs comes from the hub's own table (roles.ts).
import { permissionFor } from '../../api/roles.js';

const TOKEN_KEY = 'atoll.token';

export const session = {
  token: sessionStorage.getItem(TOKEN_KEY) ?? '',
  perms: [] as string[],
  onUnauthorized: (): void => undefined,
  save(token: string): void {
    this.token = token;
    sessionStorage.setItem(TOKEN_KEY, token);
  },
  clear(): void {
    this.token = '';
    this.perms = [];
    sessionStorage.removeItem(TOKEN_KEY);
  },
};

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function api<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    headers: {
      authorization: `Bearer ${session.token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let data: unknown = text;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    /* text */
  }
  if (!res.ok) {
    if (res.status === 401) session.onUnauthorized();
    throw new ApiError(res.status, (data as { error?: { message?: string } })?.error?.message ?? `HTTP ${res.status}`);
  }
  return data as T;
}

export const can = (p: string): boolean => session.perms.includes(p);

/** Whether the caller may call this route (method and route pattern, e.g. PATCH /v1/pools/:pool). */
export const mayCall = (method: string, route: string): boolean => {
  const p = permissionFor(method, route);
  return p !== undefined && can(p);
};

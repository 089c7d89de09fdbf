/** Calls to the dashboard's JSON API. Writes send JSON, which the server requires of them. */
export async function getJSON<T>(path: string): Promise<T> {
  const r = await fetch(path, { headers: { accept: 'application/json' } });
  const body = (await r.json()) as T & { error?: string };
  if (!r.ok) throw new Error(body.error ?? `HTTP ${r.status}`);
  return body;
}

export async function send<T>(
  method: string,
  path: string,
  body: unknown,
): Promise<{ status: number; body: T & { error?: string } }> {
  const r = await fetch(path, {
    method,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: r.status, body: (await r.json()) as T & { error?: string } };
}

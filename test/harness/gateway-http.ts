/** Requests to a member's JSON gateway and HTTP endpoints (no keep-alive agent: nothing pooled survives a test). */
import http from 'node:http';
import https from 'node:https';

/** CA and client certificate for https:// requests (a cluster started with `tls`). */
export interface HttpTls {
  ca: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

export function httpRequest(
  url: string,
  {
    method = 'GET',
    body,
    timeoutMs = 2000,
    tls,
  }: { method?: string; body?: string; timeoutMs?: number; tls?: HttpTls } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = {};
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(body);
    }
    const request = url.startsWith('https:') ? https.request : http.request;
    const req = request(url, { method, headers, agent: false, ...tls }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        data += chunk;
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, body: data });
      });
      res.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    // Overall deadline: a SIGSTOPped member accepts the TCP connection but never answers.
    const timer = setTimeout(
      () => req.destroy(new Error(`timed out after ${timeoutMs}ms: ${method} ${url}`)),
      timeoutMs,
    );
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end(body);
  });
}

export async function postJson<T>(
  url: string,
  payload: unknown,
  timeoutMs = 2000,
  tls?: HttpTls,
): Promise<T> {
  const res = await httpRequest(url, { method: 'POST', body: JSON.stringify(payload), timeoutMs, tls });
  if (res.status !== 200) throw new Error(`POST ${url}: HTTP ${res.status} ${res.body.slice(0, 300)}`);
  return JSON.parse(res.body) as T;
}

/** `/v3/maintenance/status` via the grpc-gateway (uint64 fields are JSON strings). */
export interface StatusResponse {
  header?: { cluster_id?: string; member_id?: string; raft_term?: string };
  leader?: string;
  raftTerm?: string;
}

export interface MemberListResponse {
  members?: { ID?: string; name?: string; peerURLs?: string[]; clientURLs?: string[] }[];
}

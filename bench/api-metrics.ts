/**
 * What `npm run bench` reads from the members' HTTP side (etcd and Concord alike serve it on the
 * client port): /health to know a cluster is up, which member leads (each case starts there),
 * and the leader-change counter from /metrics, since an election in the middle of a case
 * explains a collapse in its figures.
 */
import http from 'node:http';

/** GET without keep-alive (nothing pooled outlives the run); undefined on any failure. */
export function httpGet(
  url: string,
  timeoutMs = 2000,
): Promise<{ status: number; body: string } | undefined> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', () => resolve(undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
}

export async function healthy(endpoint: string): Promise<boolean> {
  const r = await httpGet(`http://${endpoint}/health`);
  return r !== undefined && r.status === 200 && /"health"\s*:\s*"true"/.test(r.body);
}

/** Each endpoint's /metrics text, in the endpoints' order; undefined where none came back. */
export function scrapeMetrics(endpoints: string[]): Promise<(string | undefined)[]> {
  return Promise.all(
    endpoints.map(async (e) => {
      const r = await httpGet(`http://${e.replace(/^https?:\/\//, '')}/metrics`);
      return r?.status === 200 ? r.body : undefined;
    }),
  );
}

/** An unlabelled (or singly labelled) sample's value in one /metrics text. */
function sample(body: string | undefined, name: string): number | undefined {
  const m = body === undefined ? null : new RegExp(`^${name}(?:\\{[^}]*\\})?\\s+(\\S+)`, 'm').exec(body);
  const n = m ? Number(m[1]) : Number.NaN;
  return Number.isFinite(n) ? n : undefined;
}

/**
 * Leader changes seen so far: the highest count any member reports (each member counts the
 * changes it saw itself, so summing would count one election once per member). Undefined when
 * no member exposes the counter.
 */
export function leaderChanges(metrics: (string | undefined)[]): number | undefined {
  const known = metrics
    .map((body) => sample(body, 'etcd_server_leader_changes_seen_total'))
    .filter((n): n is number => n !== undefined);
  return known.length ? Math.max(...known) : undefined;
}

/**
 * The endpoints with the leader's first (the rest in their order), as `metrics` (theirs, in
 * the same order) say with `etcd_server_is_leader`, etcd's and Concord's alike; unchanged when
 * no member says it leads. A case's first client talks to the first endpoint, and a put
 * through a follower makes two more hops than one through the leader: with the leader
 * wherever the election put it, the 1-client put measured a different path on each cluster
 * from run to run.
 */
export function leaderFirst(endpoints: string[], metrics: (string | undefined)[]): string[] {
  const i = metrics.findIndex((body) => sample(body, 'etcd_server_is_leader') === 1);
  return i <= 0 ? endpoints : [endpoints[i]!, ...endpoints.filter((_, j) => j !== i)];
}

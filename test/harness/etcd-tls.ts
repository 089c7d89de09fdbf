/**
 * TLS for a cluster, with etcd's flags: the client port is https:// (`--cert-file`, `--key-file`,
 * `--trusted-ca-file`, optionally `--client-cert-auth`); with `peer`, the peer port too (the
 * same files as `--peer-*`, and `--peer-client-cert-auth`). The harness's own requests and
 * `etcdctl()` use `caFile` and the client certificate.
 */
export interface TlsSetup {
  caFile: string;
  /** Every member's certificate (IP SAN 127.0.0.1) and key, for both ports. */
  certFile: string;
  keyFile: string;
  /** The harness's and etcdctl's client certificate (required with clientCertAuth). */
  clientCertFile?: string;
  clientKeyFile?: string;
  clientCertAuth?: boolean;
  /** https:// peer URLs with mutual TLS (--peer-client-cert-auth). */
  peer?: boolean;
}

export function tlsArgs(t: TlsSetup): string[] {
  const client = ['--cert-file', t.certFile, '--key-file', t.keyFile, '--trusted-ca-file', t.caFile];
  if (t.clientCertAuth) client.push('--client-cert-auth');
  const peer = t.peer
    ? [
        '--peer-cert-file',
        t.certFile,
        '--peer-key-file',
        t.keyFile,
        '--peer-trusted-ca-file',
        t.caFile,
        '--peer-client-cert-auth',
      ]
    : [];
  return [...client, ...peer];
}

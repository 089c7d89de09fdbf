/**
 * etcd's flags that Concord accepts without implementing them, so that an etcd command line,
 * systemd unit or config file starts Concord unchanged; each one given gets one warning saying
 * why, rather than being refused (which would stop the start) or dropped silently (which would
 * hide that, say, a CRL is not checked).
 */
import { SNAPSHOTS_KEPT } from '../server/index.js';
import type { Note } from './settings.js';

/**
 * etcd flags Concord accepts and does not implement: each given one is warned about once, with
 * why; `fine` values are what Concord does anyway (no warning).
 */
export interface IgnoredSpec {
  flag: string;
  why: string;
  fine?: (value: string) => boolean;
  /** Takes no value (a bool in etcd): the bare flag means true. */
  bool?: boolean;
}

const isFalse = (v: string) => v === 'false' || v === '0' || v === '';
const isTrue = (v: string) => v === 'true' || v === '1';
const NO_TLS_OPTION = "Node's TLS defaults apply (TLS 1.2 and 1.3, OpenSSL's default ciphers)";
const NOT_CHECKED =
  'NOT enforced: any certificate signed by the trusted CA is accepted; restrict with auth users or the CA';
const NO_BBOLT = 'Concord keeps the keyspace in memory with a WAL and snapshots (no bbolt backend)';
const NOT_IMPLEMENTED = 'not implemented by Concord';

export const IGNORED_FLAGS: IgnoredSpec[] = [
  { flag: 'wal-dir', why: 'the WAL is kept in <data-dir>/wal', fine: isFalse },
  { flag: 'max-wals', why: 'WAL segments are released once a snapshot covers them' },
  { flag: 'max-snapshots', why: `each member keeps its ${SNAPSHOTS_KEPT} newest snapshots` },
  {
    flag: 'enable-pprof',
    bool: true,
    why: 'no Go profiler here: use node --cpu-prof or --inspect',
    fine: isFalse,
  },
  {
    flag: 'auto-tls',
    bool: true,
    why: 'no self-signed certificates are generated: give --cert-file and --key-file',
    fine: isFalse,
  },
  {
    flag: 'peer-auto-tls',
    bool: true,
    why: 'no self-signed certificates are generated: give --peer-cert-file and --peer-key-file',
    fine: isFalse,
  },
  { flag: 'self-signed-cert-validity', why: 'no self-signed certificates are generated' },
  { flag: 'cipher-suites', why: NO_TLS_OPTION },
  { flag: 'tls-min-version', why: NO_TLS_OPTION },
  { flag: 'tls-max-version', why: NO_TLS_OPTION },
  { flag: 'client-crl-file', why: 'certificate revocation lists are NOT checked' },
  { flag: 'peer-crl-file', why: 'certificate revocation lists are NOT checked' },
  { flag: 'client-cert-allowed-hostname', why: NOT_CHECKED },
  { flag: 'client-cert-allowed-cn', why: NOT_CHECKED },
  { flag: 'peer-cert-allowed-cn', why: NOT_CHECKED },
  { flag: 'peer-cert-allowed-hostname', why: NOT_CHECKED },
  {
    flag: 'experimental-peer-skip-client-san-verification',
    bool: true,
    why: 'peer certificates are verified as TLS does',
    fine: isFalse,
  },
  { flag: 'host-whitelist', why: 'Host headers are not checked', fine: (v) => v === '*' || v === '' },
  { flag: 'enable-v2', bool: true, why: 'the v2 API is not served (v3 only)', fine: isFalse },
  { flag: 'experimental-enable-v2v3', why: 'the v2 API is not served (v3 only)', fine: (v) => v === '' },
  {
    flag: 'enable-grpc-gateway',
    bool: true,
    why: 'the HTTP gateway is always served',
    fine: (v) => v === '' || isTrue(v),
  },
  { flag: 'listen-client-http-urls', why: 'HTTP is served on the client URLs beside gRPC' },
  {
    flag: 'strict-reconfig-check',
    bool: true,
    why: 'membership changes are not checked for quorum loss',
    fine: isFalse,
  },
  { flag: 'pre-vote', bool: true, why: 'Concord always pre-votes', fine: (v) => v === '' || isTrue(v) },
  {
    flag: 'initial-election-tick-advance',
    bool: true,
    why: 'a new member always fast-forwards its first election',
    fine: (v) => v === '' || isTrue(v),
  },
  {
    flag: 'force-new-cluster',
    bool: true,
    why: 'not supported: restore a snapshot into a new data dir instead (concord snapshot restore)',
    fine: isFalse,
  },
  { flag: 'unsafe-no-fsync', bool: true, why: 'Concord always fsyncs its WAL', fine: isFalse },
  { flag: 'discovery', why: 'discovery is not supported: give --initial-cluster', fine: (v) => v === '' },
  {
    flag: 'discovery-srv',
    why: 'DNS discovery is not supported: give --initial-cluster',
    fine: (v) => v === '',
  },
  { flag: 'discovery-srv-name', why: 'DNS discovery is not supported', fine: (v) => v === '' },
  { flag: 'discovery-proxy', why: 'discovery is not supported', fine: (v) => v === '' },
  { flag: 'discovery-fallback', why: 'discovery is not supported', fine: () => true },
  { flag: 'proxy', why: 'proxy mode is not supported', fine: (v) => v === '' || v === 'off' },
  { flag: 'proxy-failure-wait', why: 'proxy mode is not supported', fine: () => true },
  { flag: 'proxy-refresh-interval', why: 'proxy mode is not supported', fine: () => true },
  { flag: 'proxy-dial-timeout', why: 'proxy mode is not supported', fine: () => true },
  { flag: 'proxy-write-timeout', why: 'proxy mode is not supported', fine: () => true },
  { flag: 'proxy-read-timeout', why: 'proxy mode is not supported', fine: () => true },
  { flag: 'metrics', why: "only 'basic' metrics are exported", fine: (v) => v === '' || v === 'basic' },
  { flag: 'log-package-levels', why: 'per-package log levels were capnslog’s: use --log-level' },
  {
    flag: 'enable-log-rotation',
    bool: true,
    why: 'logs are not rotated: use logrotate on the --log-outputs file',
    fine: isFalse,
  },
  { flag: 'log-rotation-config-json', why: 'logs are not rotated', fine: () => true },
  { flag: 'backend-batch-limit', why: NO_BBOLT },
  { flag: 'backend-batch-interval', why: NO_BBOLT },
  { flag: 'backend-bbolt-freelist-type', why: NO_BBOLT },
  { flag: 'experimental-backend-bbolt-freelist-type', why: NO_BBOLT },
  { flag: 'experimental-memory-mlock', bool: true, why: NO_BBOLT, fine: isFalse },
  { flag: 'experimental-bootstrap-defrag-threshold-megabytes', why: NO_BBOLT },
  {
    flag: 'experimental-txn-mode-write-with-shared-buffer',
    bool: true,
    why: NOT_IMPLEMENTED,
    fine: () => true,
  },
  { flag: 'max-concurrent-streams', why: NOT_IMPLEMENTED },
  { flag: 'socket-reuse-port', bool: true, why: NOT_IMPLEMENTED, fine: isFalse },
  { flag: 'socket-reuse-address', bool: true, why: NOT_IMPLEMENTED, fine: isFalse },
  { flag: 'experimental-initial-corrupt-check', bool: true, why: NOT_IMPLEMENTED, fine: isFalse },
  { flag: 'experimental-corrupt-check-time', why: NOT_IMPLEMENTED },
  { flag: 'experimental-compact-hash-check-enabled', bool: true, why: NOT_IMPLEMENTED, fine: isFalse },
  { flag: 'experimental-compact-hash-check-time', why: NOT_IMPLEMENTED },
  { flag: 'experimental-compaction-batch-limit', why: NOT_IMPLEMENTED },
  { flag: 'experimental-compaction-sleep-interval', why: NOT_IMPLEMENTED },
  { flag: 'experimental-downgrade-check-time', why: NOT_IMPLEMENTED },
  { flag: 'experimental-stop-grpc-service-on-defrag', bool: true, why: NOT_IMPLEMENTED, fine: isFalse },
  { flag: 'experimental-max-learners', why: NOT_IMPLEMENTED },
  { flag: 'experimental-wait-cluster-ready-timeout', why: NOT_IMPLEMENTED },
  { flag: 'experimental-warning-unary-request-duration', why: NOT_IMPLEMENTED },
  {
    flag: 'experimental-enable-lease-checkpoint-persist',
    bool: true,
    why: 'checkpoints are always kept through Raft',
    fine: () => true,
  },
  { flag: 'experimental-enable-distributed-tracing', bool: true, why: NOT_IMPLEMENTED, fine: isFalse },
  { flag: 'experimental-distributed-tracing-address', why: NOT_IMPLEMENTED, fine: () => true },
  { flag: 'experimental-distributed-tracing-service-name', why: NOT_IMPLEMENTED, fine: () => true },
  { flag: 'experimental-distributed-tracing-instance-id', why: NOT_IMPLEMENTED, fine: () => true },
  { flag: 'experimental-distributed-tracing-sampling-rate', why: NOT_IMPLEMENTED, fine: () => true },
];

/** One warning for each ignored flag given, unless its value is what Concord does anyway. */
export function ignoredFlagNotes(values: Map<string, string>, sources: Map<string, string>): Note[] {
  const notes: Note[] = [];
  for (const s of IGNORED_FLAGS) {
    const v = values.get(s.flag);
    if (v === undefined || s.fine?.(v)) continue;
    const from = sources.get(s.flag);
    notes.push({
      level: 'warn',
      msg: `ignoring --${s.flag} (not implemented by Concord): ${s.why}`,
      fields: { flag: s.flag, ...(from && from !== `--${s.flag}` ? { from } : {}) },
    });
  }
  return notes;
}

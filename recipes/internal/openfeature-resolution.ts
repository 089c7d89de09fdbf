/**
 * A flag reader's answer as OpenFeature's ResolutionDetails, for the server and the web provider
 * alike (type imports only: neither SDK ends up in the other's bundle).
 */
import type { ErrorCode, FlagMetadata, ResolutionDetails } from '@openfeature/core';
import type { FlagChange, FlagDetails, Flags } from '../flags.js';

export function toResolution<T>(d: FlagDetails<T>): ResolutionDetails<T> {
  const flagMetadata: FlagMetadata = { stale: d.stale };
  if (d.revision !== undefined) flagMetadata.revision = Number(d.revision);
  const r: ResolutionDetails<T> = { value: d.value, variant: d.variant, reason: d.reason, flagMetadata };
  if (d.errorCode) {
    // Our codes are spelled as OpenFeature's ErrorCode values.
    r.errorCode = d.errorCode as ErrorCode;
    r.errorMessage = d.errorMessage;
  }
  return r;
}

/** What a provider tells OpenFeature as the reader changes, in each SDK's own event names. */
export interface ReaderEvents {
  changed(details: { flagsChanged: string[]; metadata: { revision: number } }): void;
  stale(details: { message: string }): void;
  ready(details: { message: string }): void;
  error(details: { message: string }): void;
}

/** Forwards a reader's change, stale and close events to a provider; returns the unsubscribe. */
export function followReader(flags: Flags, events: ReaderEvents): () => void {
  const onChange = (c: FlagChange) =>
    events.changed({ flagsChanged: c.flags, metadata: { revision: Number(c.revision) } });
  const onStale = (stale: boolean) => {
    if (stale) events.stale({ message: 'the etcd watch is down: serving the last values' });
    else events.ready({ message: 'the etcd watch is back and caught up' });
  };
  const onClose = () => events.error({ message: 'the flag reader was closed (client closed?)' });
  flags.on('change', onChange);
  flags.on('stale', onStale);
  flags.on('close', onClose);
  return () => {
    flags.off('change', onChange);
    flags.off('stale', onStale);
    flags.off('close', onClose);
  };
}

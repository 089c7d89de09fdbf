/** How numbers, sizes and times read on the page. */
export const bytes = (n: number | undefined): string =>
  n === undefined
    ? '–'
    : n < 1024
      ? `${n} B`
      : n < 1 << 20
        ? `${(n / 1024).toFixed(1)} KiB`
        : `${(n / (1 << 20)).toFixed(1)} MiB`;

export const clock = (ms: number): string => new Date(ms).toLocaleTimeString();

/** Seconds left of a lease read `ttl` seconds at `readAt`, now. */
export const ttlLeft = (ttl: number, readAt: number, now = Date.now()): number =>
  Math.max(0, Math.round(ttl - (now - readAt) / 1000));

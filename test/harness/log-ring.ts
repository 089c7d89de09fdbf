/** Keeps the last `max` lines; `total` counts every line ever added, so callers can ask for "lines since". */
export class LogRing {
  private readonly lines: string[] = [];
  private partial = '';
  total = 0;

  constructor(private readonly max: number) {}

  write(chunk: string, onLine?: (line: string) => void): void {
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) {
      this.add(line);
      onLine?.(line);
    }
  }

  add(line: string): void {
    this.lines.push(line);
    this.total++;
    if (this.lines.length > this.max) this.lines.shift();
  }

  /** Flush a trailing partial line (called when a process exits). */
  flush(onLine?: (line: string) => void): void {
    if (this.partial) {
      const line = this.partial;
      this.partial = '';
      this.add(line);
      onLine?.(line);
    }
  }

  text(sinceTotal = 0): string {
    const first = this.total - this.lines.length;
    const lines = this.lines.slice(Math.max(0, sinceTotal - first));
    if (this.partial) lines.push(this.partial);
    return lines.join('\n');
  }
}

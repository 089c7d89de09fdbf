/**
 * Headless Chromium for the browser tests, driven by playwright-core. Nothing downloads a browser:
 * it is Debian's `chromium` package (installed by .ci/run), or the one CHROMIUM_PATH names.
 *
 * The flags keep Chromium off the network: on a machine with no route out, its background
 * services (component updates, sync, QUIC probes) otherwise fill the log with refused connections.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { type Browser, chromium } from 'playwright-core';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

export function chromiumPath(): string {
  const explicit = process.env.CHROMIUM_PATH;
  if (explicit) return explicit;
  const found = CANDIDATES.find((p) => existsSync(p));
  if (!found) {
    throw new Error(
      `no Chromium found (looked at ${CANDIDATES.join(', ')}): install Debian's chromium package or set CHROMIUM_PATH`,
    );
  }
  return found;
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * Where browser tests write screenshots: `test-output/screenshots/<suite>/`, a folder CI keeps
 * (gitignored). SCREENSHOT_DIR moves it.
 */
export function screenshotDir(suite: string): string {
  const root =
    process.env.SCREENSHOT_DIR ?? path.resolve(__dirname, '..', '..', 'test-output', 'screenshots');
  const dir = path.join(root, suite);
  mkdirSync(dir, { recursive: true });
  return dir;
}

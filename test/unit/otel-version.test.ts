import { readFileSync } from 'node:fs';
import path from 'node:path';
import { INSTRUMENTATION_VERSION } from '../../src/otel.js';

test("the OpenTelemetry instrumentation reports the package's version", () => {
  const pkg = JSON.parse(readFileSync(path.join(__dirname, '../../package.json'), 'utf8')) as {
    version: string;
  };
  expect(INSTRUMENTATION_VERSION).toBe(pkg.version);
});

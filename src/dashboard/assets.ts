/**
 * The page and its two assets (one script, one stylesheet), built by scripts/build-dashboard.mjs
 * next to this module and shipped in the package: nothing is fetched from elsewhere at run time.
 */
import { readFileSync } from 'node:fs';

export interface Asset {
  type: string;
  body: Buffer;
}

const read = (name: string): Buffer => readFileSync(new URL(`./assets/${name}`, import.meta.url));

export function loadAssets(): Map<string, Asset> {
  const page = Buffer.from(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Concord dashboard</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/app.css">
<script type="module" src="/app.js"></script>
</head>
<body><noscript>The dashboard needs JavaScript.</noscript></body>
</html>
`);
  return new Map([
    ['/', { type: 'text/html; charset=utf-8', body: page }],
    ['/app.js', { type: 'text/javascript; charset=utf-8', body: read('app.js') }],
    ['/app.css', { type: 'text/css; charset=utf-8', body: read('app.css') }],
  ]);
}

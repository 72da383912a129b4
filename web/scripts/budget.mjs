// Build budget: the JavaScript a first page load fetches (the entry script and every
// chunk index.html preloads) must stay under 300 KB gzip. Pages loaded lazily do not
// count; they are fetched when visited. Fails the build when over.
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { join } from "node:path";

const LIMIT = 300 * 1024;
const dist = new URL("../dist/", import.meta.url).pathname;
const html = readFileSync(join(dist, "index.html"), "utf8");
const files = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.js)"/g)].map((m) => m[1]);
if (files.length === 0) {
  console.error("budget: index.html references no script; the build is broken");
  process.exit(1);
}
let total = 0;
for (const f of new Set(files)) {
  const size = gzipSync(readFileSync(join(dist, f)), { level: 9 }).length;
  total += size;
  console.log(`budget: ${f} ${(size / 1024).toFixed(1)} KB gzip`);
}
const line = `budget: initial JavaScript ${(total / 1024).toFixed(1)} KB gzip (limit ${LIMIT / 1024} KB)`;
if (total > LIMIT) {
  console.error(line + ": over budget");
  process.exit(1);
}
console.log(line);

// @vitest-environment node
// Feature folders stay independent: a feature imports from app/, api/, ui/ and lib/,
// never from another feature (shared code moves to ui/ or lib/ instead).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const root = fileURLToPath(new URL(".", import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : /\.tsx?$/.test(f) ? [p] : [];
  });
}

it("no feature imports another feature", () => {
  const features = readdirSync(root).filter((f) => statSync(join(root, f)).isDirectory());
  expect(features.length).toBeGreaterThan(8);
  const crossings: string[] = [];
  for (const feature of features) {
    for (const file of files(join(root, feature))) {
      for (const m of readFileSync(file, "utf8").matchAll(/from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g)) {
        const spec = m[1] ?? m[2] ?? "";
        const other = /^@\/features\/([^/]+)/.exec(spec)?.[1] ?? /^\.\.\/([^/.][^/]*)/.exec(spec)?.[1];
        if (other && other !== feature) crossings.push(`${file.slice(root.length)} imports ${spec}`);
      }
    }
  }
  expect(crossings).toEqual([]);
});

// @vitest-environment node
// The committed API types must be what openapi-typescript makes of the committed
// OpenAPI document (which a Go test keeps equal to the server's): `make api-types`
// regenerates both.
import { readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

it("schema.d.ts is generated from openapi.json", () => {
  const root = fileURLToPath(new URL("../../", import.meta.url));
  const out = "/tmp/aegis-schema-" + process.pid + ".d.ts";
  execFileSync("node", ["node_modules/openapi-typescript/bin/cli.js", "openapi.json", "-o", out], { cwd: root, stdio: "pipe" });
  const fresh = readFileSync(out, "utf8");
  const committed = readFileSync(root + "src/api/schema.d.ts", "utf8");
  expect(committed === fresh, "src/api/schema.d.ts is stale: run `make api-types`").toBe(true);
}, 60_000);

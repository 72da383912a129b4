import { describe, expect, it } from "vitest";
import type { Tactic, Technique } from "@/api/client";
import { buildMatrix, platformsOf } from "./model";

const tac = (shortname: string, order: number): Tactic => ({ shortname, matrix_order: order, domain: "enterprise-attack", deprecated: false, name: shortname }) as Tactic;
const tech = (id: string, ext: string, tactics: string[], extra: Partial<Technique> = {}): Technique =>
  ({ id, external_id: ext, name: ext, tactics, platforms: ["Windows"], domains: ["enterprise-attack"], revoked: false, deprecated: false, is_subtechnique: false, ...extra }) as Technique;

describe("buildMatrix", () => {
  const tactics = [tac("execution", 4), tac("initial-access", 3)];
  const techniques = [
    tech("a", "T1059", ["execution"]),
    tech("a1", "T1059.003", ["execution"], { is_subtechnique: true, parent_id: "a" }),
    tech("a2", "T1059.001", ["execution"], { is_subtechnique: true, parent_id: "a" }),
    tech("b", "T1566", ["initial-access"], { platforms: ["Linux"] }),
    tech("c", "T1000", ["execution"], { revoked: true }),
  ];
  it("orders tactics, nests sub-techniques in id order, drops revoked", () => {
    const m = buildMatrix(tactics, techniques);
    expect(m.map((c) => c.tactic.shortname)).toEqual(["initial-access", "execution"]);
    expect(m[1]!.techniques.map((t) => t.technique.external_id)).toEqual(["T1059"]);
    expect(m[1]!.techniques[0]!.subs.map((s) => s.external_id)).toEqual(["T1059.001", "T1059.003"]);
  });
  it("filters by platform", () => {
    const m = buildMatrix(tactics, techniques, "Linux");
    expect(m[0]!.techniques.map((t) => t.technique.external_id)).toEqual(["T1566"]);
    expect(m[1]!.techniques).toEqual([]);
    expect(platformsOf(techniques)).toEqual(["Linux", "Windows"]);
  });
});

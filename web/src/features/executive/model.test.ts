import { expect, it } from "vitest";
import type { Tactic, Technique } from "@/api/client";
import { tacticCoverage } from "./model";

it("counts per tactic in matrix order", () => {
  const tactics = [{ name: "Execution", shortname: "execution", matrix_order: 4 }, { name: "Initial Access", shortname: "initial-access", matrix_order: 3 }] as Tactic[];
  const t = (tac: string, s: string, extra = {}) => ({ tactics: [tac], coverage_status: s, domains: ["enterprise-attack"], revoked: false, deprecated: false, ...extra }) as Technique;
  const rows = tacticCoverage(tactics, [t("execution", "covered"), t("execution", "partial"), t("execution", "not_tested"), t("initial-access", "in_progress"), t("execution", "covered", { revoked: true })]);
  expect(rows).toEqual([
    { tactic: "Initial Access", techniques: 1, covered: 0, partial: 0, tested: 1 },
    { tactic: "Execution", techniques: 3, covered: 1, partial: 1, tested: 2 },
  ]);
});

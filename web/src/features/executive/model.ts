import type { Tactic, Technique } from "@/api/client";

export type TacticRow = { tactic: string; techniques: number; covered: number; partial: number; tested: number };

/** tacticCoverage counts, per tactic in matrix order, its current techniques by status. */
export function tacticCoverage(tactics: Tactic[], techniques: Technique[]): TacticRow[] {
  const live = techniques.filter((t) => !t.revoked && !t.deprecated && (t.domains.length === 0 || t.domains.includes("enterprise-attack")));
  return [...tactics]
    .filter((t) => !t.deprecated)
    .sort((a, b) => a.matrix_order - b.matrix_order)
    .map((tac) => {
      const ts = live.filter((t) => t.tactics.includes(tac.shortname));
      return {
        tactic: tac.name,
        techniques: ts.length,
        covered: ts.filter((t) => t.coverage_status === "covered").length,
        partial: ts.filter((t) => t.coverage_status === "partial").length,
        tested: ts.filter((t) => t.coverage_status !== "not_tested").length,
      };
    });
}

// The matrix model: the coverage matrix the API computes (GET /api/v1/matrix: tactics
// in order, each with its techniques and their sub-techniques), put in the order the
// heatmap shows, and the colour of a cell by status or by score.
import type { Schemas } from "@/api/client";
import { coverageOf } from "@/ui/coverage";

export type MatrixTechnique = Schemas["MatrixTechnique"];
export type Column = { tactic: Schemas["MatrixTactic"]; techniques: { technique: MatrixTechnique; subs: MatrixTechnique[] }[] };

/** PLATFORMS are ATT&CK Enterprise's platforms, as technique records name them. */
export const PLATFORMS = ["Windows", "Linux", "macOS", "Network Devices", "Containers", "IaaS", "SaaS", "Office Suite", "Identity Provider", "ESXi", "PRE"];

export type ColourBy = "status" | "score";

const byName = (a: MatrixTechnique, b: MatrixTechnique) => a.name.localeCompare(b.name);
const byId = (a: MatrixTechnique, b: MatrixTechnique) => a.external_id.localeCompare(b.external_id);

/** columns orders tactics by matrix order, techniques by name and sub-techniques by id. */
export function columns(m: Pick<Schemas["Matrix"], "tactics">): Column[] {
  return [...m.tactics]
    .sort((a, b) => a.matrix_order - b.matrix_order)
    .map((tactic) => ({
      tactic,
      techniques: [...tactic.techniques].sort(byName).map((technique) => ({ technique, subs: [...(technique.subtechniques ?? [])].sort(byId) })),
    }));
}

/**
 * scoreColour maps a 0–100 score onto red → amber → green; a technique without a
 * score (nothing tested) is neutral grey.
 */
export function scoreColour(score: number | null | undefined): string {
  if (score == null || Number.isNaN(score)) return "#64748b";
  const s = Math.max(0, Math.min(100, score));
  const hue = Math.round((s / 100) * 142); // 0 red, ~38 amber, 142 green
  return `hsl(${hue} 72% 45%)`;
}

/** cellColour is a cell's colour and how strongly it tints the cell. */
export function cellColour(t: Pick<MatrixTechnique, "status" | "score">, by: ColourBy): { color: string; tint: number } {
  if (by === "score") return { color: scoreColour(t.score), tint: t.score == null ? 0 : 22 };
  return { color: coverageOf(t.status).color, tint: t.status === "not_tested" ? 0 : 16 };
}

/**
 * retiredNote says what ATT&CK has done since the release shown to a technique that
 * release still had ("" for a current one): an older release's matrix keeps them, marked.
 */
export function retiredNote(t: Pick<MatrixTechnique, "revoked" | "revoked_by" | "deprecated">): string {
  if (t.revoked) return t.revoked_by ? `revoked since, replaced by ${t.revoked_by}` : "revoked since";
  if (t.deprecated) return "deprecated since";
  return "";
}

/** retiredCount counts the techniques and sub-techniques of the columns retired since. */
export function retiredCount(cols: Column[]): number {
  const seen = new Set<string>();
  for (const c of cols) {
    for (const { technique, subs } of c.techniques) {
      for (const t of [technique, ...subs]) if (retiredNote(t)) seen.add(t.external_id);
    }
  }
  return seen.size;
}

/** SCORE_STEPS are the legend of the score colouring. */
export const SCORE_STEPS = [0, 25, 50, 75, 100];

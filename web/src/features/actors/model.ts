// Coverage figures of a threat actor, shared by its page and the comparison.
import { COVERAGE } from "@/ui/coverage";

export type GroupKey = "untested" | "not_covered" | "covered";
export const GROUPS: { key: GroupKey; label: string }[] = [
  { key: "untested", label: "Untested" },
  { key: "not_covered", label: "Not covered" },
  { key: "covered", label: "Covered" },
];

/** statusBar is the width of each coverage status in a stacked bar, in the palette's order. */
export function statusBar(counts: Record<string, number>, total: number): { status: string; pct: number }[] {
  if (total <= 0) return [];
  return Object.keys(COVERAGE)
    .map((status) => ({ status, pct: ((counts[status] ?? 0) / total) * 100 }))
    .filter((s) => s.pct > 0);
}

/** tested is the share of an actor's techniques with any test, in whole percent. */
export function tested(counts: Record<string, number>, total: number): number {
  if (total <= 0) return 0;
  return Math.round(((total - (counts.not_tested ?? 0)) / total) * 100);
}

// One palette for coverage everywhere (dashboard, matrix, technique pages), chosen to
// stay distinguishable in both themes.
import type { Tone } from "./primitives";

export const COVERAGE: Record<string, { label: string; color: string; tone: Tone }> = {
  covered: { label: "Covered", color: "#10b981", tone: "green" },
  partial: { label: "Partial", color: "#f59e0b", tone: "amber" },
  not_covered: { label: "Not covered", color: "#ef4444", tone: "red" },
  in_progress: { label: "In progress", color: "#3b82f6", tone: "blue" },
  not_tested: { label: "Not tested", color: "#64748b", tone: "gray" },
};

export const coverageOf = (s: string) => COVERAGE[s] ?? { label: s, color: "#64748b", tone: "gray" as Tone };

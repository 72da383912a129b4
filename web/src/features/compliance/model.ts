// Control statuses as the coverage service derives them (core/coverage/compliance.go).
import type { Tone } from "@/ui/primitives";

export const CONTROL_STATUS: Record<string, { label: string; tone: Tone; color: string }> = {
  covered: { label: "Covered", tone: "green", color: "#10b981" },
  partial: { label: "Partial", tone: "amber", color: "#f59e0b" },
  untested: { label: "Untested", tone: "gray", color: "#64748b" },
  not_mapped: { label: "Not mapped", tone: "violet", color: "#8b5cf6" },
};

export const CONTROL_STATUS_ORDER = ["covered", "partial", "untested", "not_mapped"];

/** controlBar is each status's share of a framework's or family's controls, in percent. */
export function controlBar(counts: Record<string, number>, total: number): { status: string; pct: number }[] {
  if (total <= 0) return [];
  return CONTROL_STATUS_ORDER.map((status) => ({ status, pct: ((counts[status] ?? 0) / total) * 100 })).filter((s) => s.pct > 0);
}

import { api, ok, withQuery, type Technique, type Test } from "@/api/client";
import { STATES } from "@/lib/format";

export const dashboardKeys = {
  all: ["dashboard"] as const,
  stateCounts: () => ["dashboard", "state-counts"] as const,
  myWork: () => ["dashboard", "my-work"] as const,
  validated: () => ["dashboard", "validated"] as const,
  notifications: () => ["dashboard", "notifications"] as const,
};

export const COVERAGE_ORDER = ["covered", "partial", "not_covered", "in_progress", "not_tested"] as const;

/** Current Enterprise techniques: the ones a matrix shows (not revoked, not deprecated). */
export const isCurrentEnterprise = (t: Technique) => !t.revoked && !t.deprecated && (t.domains.length === 0 || t.domains.includes("enterprise-attack"));

export function coverageCounts(ts: Technique[]): Record<string, number> {
  const out: Record<string, number> = Object.fromEntries(COVERAGE_ORDER.map((s) => [s, 0]));
  for (const t of ts) out[t.coverage_status] = (out[t.coverage_status] ?? 0) + 1;
  return out;
}

export async function stateCounts(): Promise<Record<string, number>> {
  const pages = await Promise.all(STATES.map((state) => ok(api.GET("/api/v1/tests", withQuery({ state, limit: 1 })))));
  return Object.fromEntries(STATES.map((s, i) => [s, pages[i]!.total]));
}

/** weeklyValidated buckets validation times into the last n ISO weeks (Monday starts). */
export function weeklyValidated(tests: Test[], weeks = 12, now = new Date()): { week: string; validated: number }[] {
  const monday = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  monday.setUTCDate(monday.getUTCDate() - ((monday.getUTCDay() + 6) % 7));
  const starts = Array.from({ length: weeks }, (_, i) => {
    const d = new Date(monday);
    d.setUTCDate(d.getUTCDate() - 7 * (weeks - 1 - i));
    return d;
  });
  const counts = starts.map(() => 0);
  for (const t of tests) {
    if (!t.validated_at) continue;
    const at = new Date(t.validated_at).getTime();
    for (let i = starts.length - 1; i >= 0; i--) {
      if (at >= starts[i]!.getTime()) {
        if (i < starts.length - 1 || at < monday.getTime() + 7 * 86400_000) counts[i]!++;
        break;
      }
    }
  }
  return starts.map((d, i) => ({ week: d.toISOString().slice(5, 10), validated: counts[i]! }));
}

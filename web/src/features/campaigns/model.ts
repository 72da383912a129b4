// Campaign ordering: each test's dependencies by position, and whether it may start.
import type { Schemas } from "@/api/client";

export type CampaignTest = Schemas["CampaignTest"];

export const FINISHED = new Set(["validated"]);

export type OrderedTest = CampaignTest & { after: number[]; blocked: boolean };

/** ordered sorts a campaign's tests by position and names each dependency by its position. */
export function ordered(tests: CampaignTest[]): OrderedTest[] {
  const byId = new Map(tests.map((t) => [t.test_id, t]));
  return [...tests]
    .sort((a, b) => a.position - b.position)
    .map((t) => {
      const deps = (t.depends_on ?? []).map((id) => byId.get(id)).filter((d): d is CampaignTest => !!d);
      return { ...t, after: deps.map((d) => d.position).sort((a, b) => a - b), blocked: deps.some((d) => !FINISHED.has(d.state ?? "")) };
    });
}

/** NEXT_STATUS are the moves a lead may make from each campaign status. */
export type CampaignStatus = "planned" | "active" | "completed" | "cancelled";
export const NEXT_STATUS: Record<string, { to: CampaignStatus; label: string }[]> = {
  planned: [{ to: "active", label: "Start campaign" }, { to: "cancelled", label: "Cancel" }],
  active: [{ to: "completed", label: "Complete" }, { to: "cancelled", label: "Cancel" }],
  completed: [],
  cancelled: [],
};

export const STATUS_TONE = { planned: "gray", active: "blue", completed: "green", cancelled: "violet" } as const;

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

/** CampaignForm is what the new and edit forms hold: dates as the date inputs give them. */
export type CampaignForm = { name: string; description: string; recurrence: string; start: string; end: string };
export const RECURRENCES = ["none", "weekly", "monthly", "quarterly"] as const;
export const emptyCampaign: CampaignForm = { name: "", description: "", recurrence: "none", start: "", end: "" };

/** campaignForm fills the edit form from a campaign. */
export function campaignForm(c: { name: string; description?: string; recurrence?: string; start_date?: string | null; end_date?: string | null }): CampaignForm {
  return { name: c.name, description: c.description ?? "", recurrence: c.recurrence || "none", start: c.start_date?.slice(0, 10) ?? "", end: c.end_date?.slice(0, 10) ?? "" };
}

/**
 * campaignInput turns the form into the API's body; a date is the start of that day in
 * UTC. The API leaves absent fields alone and clears a date sent as null, so a new
 * campaign leaves an empty date out while an edit sends it as null: emptying the field
 * is how a user removes a date.
 */
export function campaignInput(f: CampaignForm, edit = false): { body: Schemas["Input"] & { name: string }; missing?: string } {
  const body: Schemas["Input"] & { name: string } = { name: f.name.trim(), description: f.description.trim(), recurrence: f.recurrence as Schemas["Input"]["recurrence"] };
  if (f.start || edit) body.start_date = f.start ? `${f.start}T00:00:00Z` : null;
  if (f.end || edit) body.end_date = f.end ? `${f.end}T00:00:00Z` : null;
  if (!body.name) return { body, missing: "A campaign needs a name." };
  if (f.start && f.end && f.end < f.start) return { body, missing: "The end comes before the start." };
  return { body };
}

/** PlanRow is one test of the order editor: its id, title and what it waits for. */
export type PlanRow = { test_id: string; title: string; technique_id?: string; depends_on: string[] };

/**
 * moveRow moves a test one place up or down. A test runs only after tests placed before
 * it, so a dependency the move would put after its dependant is dropped.
 */
export function moveRow(rows: PlanRow[], index: number, delta: -1 | 1): PlanRow[] {
  const to = index + delta;
  if (to < 0 || to >= rows.length) return rows;
  const out = [...rows];
  [out[index], out[to]] = [out[to]!, out[index]!];
  return withEarlierDeps(out);
}

/** setAfter makes a test wait for one earlier test ("" for none). */
export function setAfter(rows: PlanRow[], index: number, dep: string): PlanRow[] {
  return withEarlierDeps(rows.map((r, i) => (i === index ? { ...r, depends_on: dep ? [dep] : [] } : r)));
}

function withEarlierDeps(rows: PlanRow[]): PlanRow[] {
  const seen = new Set<string>();
  return rows.map((r) => {
    const kept = r.depends_on.filter((d) => seen.has(d));
    seen.add(r.test_id);
    return kept.length === r.depends_on.length ? r : { ...r, depends_on: kept };
  });
}

/** planRows and planInput convert between a campaign's tests and the PATCH body's list. */
export function planRows(tests: CampaignTest[]): PlanRow[] {
  return [...tests].sort((a, b) => a.position - b.position).map((t) => ({ test_id: t.test_id, title: t.title ?? "", technique_id: t.technique_id, depends_on: t.depends_on ?? [] }));
}

export function planInput(rows: PlanRow[]): { test_id: string; depends_on: string[] }[] {
  return rows.map((r) => ({ test_id: r.test_id, depends_on: r.depends_on }));
}

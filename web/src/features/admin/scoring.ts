// The scoring weights form: the groups the API checks (docs/SCORING.md), so the page can
// show each group's sum while it is edited. The server stays the judge: a wrong sum is
// sent and its problem document shown, not second-guessed here.
import type { Schemas } from "@/api/client";

export type Weights = Schemas["Weights"];
export type WeightKey = keyof Weights;

export type WeightGroup = { title: string; hint: string; keys: { key: WeightKey; label: string; unit?: string }[]; sum?: number };

export const WEIGHT_GROUPS: WeightGroup[] = [
  {
    title: "Outcome weights",
    hint: "What a validated test earns for each outcome it recorded; together 100.",
    sum: 100,
    keys: [
      { key: "prevented", label: "Prevented" },
      { key: "alerted", label: "Alerted" },
      { key: "logged", label: "Logged" },
      { key: "none", label: "None of them" },
    ],
  },
  {
    title: "Composition",
    hint: "How much of a technique's score its outcomes carry alone, and how much the breadth of its tests; together 100.",
    sum: 100,
    keys: [
      { key: "outcome", label: "Outcomes" },
      { key: "platform_breadth", label: "Platform breadth" },
      { key: "procedure_breadth", label: "Procedure breadth" },
    ],
  },
  {
    title: "Recency",
    hint: "A validation's weight halves every half-life and never drops below the floor.",
    keys: [
      { key: "half_life_days", label: "Half-life", unit: "days" },
      { key: "min_recency_percent", label: "Floor", unit: "%" },
    ],
  },
];

/** groupSum adds a group's weights as the form holds them (text fields; blanks are 0). */
export function groupSum(g: WeightGroup, form: Record<WeightKey, string>): number {
  return g.keys.reduce((s, k) => s + (Number(form[k.key]) || 0), 0);
}

/** toForm and fromForm convert between the API's numbers and the form's text fields. */
export function toForm(w: Weights): Record<WeightKey, string> {
  return Object.fromEntries(Object.entries(w).map(([k, v]) => [k, String(v)])) as Record<WeightKey, string>;
}

export function fromForm(form: Record<WeightKey, string>): Weights {
  // A blank field would go out as null, which the server's JSON decoding reads as 0:
  // refuse it here, naming it, rather than save a weight nobody typed.
  for (const g of WEIGHT_GROUPS) {
    for (const k of g.keys) {
      const v = form[k.key]?.trim() ?? "";
      if (v === "" || !Number.isFinite(Number(v))) throw new Error(`${g.title}: ${k.label} needs a number.`);
    }
  }
  return Object.fromEntries(Object.entries(form).map(([k, v]) => [k, Number(v)])) as Weights;
}

/** changed lists the weights that differ between two sets, as "label old → new". */
export function changed(before: Weights, after: Weights): string[] {
  const out: string[] = [];
  for (const g of WEIGHT_GROUPS) {
    for (const k of g.keys) {
      if (before[k.key] !== after[k.key]) out.push(`${k.label} ${before[k.key]} → ${after[k.key]}`);
    }
  }
  return out;
}

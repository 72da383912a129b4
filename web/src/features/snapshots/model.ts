// Snapshot comparison: which pair to open first, and the change lists it shows.
import type { Schemas } from "@/api/client";

export type SectionKey = "regressed" | "improved" | "new" | "removed";
export const SECTIONS: { key: SectionKey; label: string; empty: string }[] = [
  { key: "regressed", label: "Regressed", empty: "No technique lost coverage." },
  { key: "improved", label: "Improved", empty: "No technique gained coverage." },
  { key: "new", label: "New", empty: "No technique appeared (an ATT&CK update adds them)." },
  { key: "removed", label: "Removed", empty: "No technique disappeared." },
];

/** defaultPair compares the newest snapshot with the one before it (the list is newest first). */
export function defaultPair(list: Pick<Schemas["Snapshot"], "id" | "taken_at">[]): { from: string; to: string } {
  if (list.length < 2) return { from: "", to: list[0]?.id ?? "" };
  const sorted = [...list].sort((a, b) => b.taken_at.localeCompare(a.taken_at));
  return { from: sorted[1]!.id, to: sorted[0]!.id };
}

// The matrix model: tactics in matrix order, each with its techniques and their
// sub-techniques, from the flat lists the API returns.
import type { Tactic, Technique } from "@/api/client";

export type Column = { tactic: Tactic; techniques: { technique: Technique; subs: Technique[] }[] };

export function current(t: Technique) {
  return !t.revoked && !t.deprecated && (t.domains.length === 0 || t.domains.includes("enterprise-attack"));
}

export function buildMatrix(tactics: Tactic[], techniques: Technique[], platform = ""): Column[] {
  const live = techniques.filter((t) => current(t) && (!platform || t.platforms.includes(platform)));
  const subsOf = new Map<string, Technique[]>();
  for (const t of live) {
    if (t.is_subtechnique && t.parent_id) {
      const list = subsOf.get(t.parent_id) ?? [];
      list.push(t);
      subsOf.set(t.parent_id, list);
    }
  }
  for (const list of subsOf.values()) list.sort((a, b) => a.external_id.localeCompare(b.external_id));
  const parents = live.filter((t) => !t.is_subtechnique).sort((a, b) => a.name.localeCompare(b.name));
  return [...tactics]
    .filter((t) => !t.deprecated && t.domain === "enterprise-attack")
    .sort((a, b) => a.matrix_order - b.matrix_order)
    .map((tactic) => ({
      tactic,
      techniques: parents.filter((p) => p.tactics.includes(tactic.shortname)).map((technique) => ({ technique, subs: subsOf.get(technique.id) ?? [] })),
    }));
}

export function platformsOf(techniques: Technique[]): string[] {
  const s = new Set<string>();
  for (const t of techniques) if (current(t)) for (const p of t.platforms) s.add(p);
  return [...s].sort();
}

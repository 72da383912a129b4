// Shared look-ups: tests and catalog entries point at techniques by internal id, and
// every page shows the ATT&CK id and name instead. One cached list serves them all.
import { useQuery } from "@tanstack/react-query";
import { api, ok, withQuery, type Technique } from "./client";
import { allPages } from "./pages";

export const techniqueIndexKey = ["lookups", "techniques"] as const;

export async function fetchAllTechniques(): Promise<Technique[]> {
  return allPages((offset, limit) => ok(api.GET("/api/v1/techniques", withQuery({ offset, limit, include_revoked: true }))));
}

export function useTechniqueIndex() {
  return useQuery({
    queryKey: techniqueIndexKey,
    queryFn: async () => {
      const all = await fetchAllTechniques();
      const byId = new Map<string, Technique>();
      for (const t of all) byId.set(t.id, t);
      return { all, byId };
    },
    staleTime: 5 * 60_000,
  });
}

// Pickers several pages share: tactics, threat actors, campaigns and snapshots by name.
export const lookupKeys = {
  tactics: ["lookups", "tactics"] as const,
  actors: ["lookups", "actors"] as const,
  campaigns: ["lookups", "campaigns"] as const,
  snapshots: ["lookups", "snapshots"] as const,
};

export function useTactics() {
  return useQuery({
    queryKey: lookupKeys.tactics,
    queryFn: async () => {
      const page = await ok(api.GET("/api/v1/tactics", withQuery({ domain: "enterprise-attack", limit: 100 })));
      return page.items.filter((t) => !t.deprecated).sort((a, b) => a.matrix_order - b.matrix_order);
    },
    staleTime: 5 * 60_000,
  });
}

export function useActors(enabled = true) {
  return useQuery({
    queryKey: lookupKeys.actors,
    enabled,
    // The lean index: names and counts, not every actor's procedure texts.
    queryFn: () => ok(api.GET("/api/v1/threat-actors/index")),
    staleTime: 5 * 60_000,
  });
}

export function useCampaignList() {
  return useQuery({ queryKey: lookupKeys.campaigns, queryFn: () => ok(api.GET("/api/v1/campaigns", withQuery({ limit: 500 }))), staleTime: 30_000 });
}

export function useSnapshotList() {
  return useQuery({ queryKey: lookupKeys.snapshots, queryFn: () => ok(api.GET("/api/v1/snapshots", withQuery({ limit: 500 }))), staleTime: 30_000 });
}

/** snapshotLabel names a snapshot in a picker: its name, which the scheduler makes from the date, else the date. */
export function snapshotLabel(s: { name?: string; taken_at: string }): string {
  if (s.name) return s.name;
  const d = new Date(s.taken_at);
  return Number.isNaN(d.getTime()) ? s.taken_at : `Snapshot ${d.toLocaleString(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" })}`;
}

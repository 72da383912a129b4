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

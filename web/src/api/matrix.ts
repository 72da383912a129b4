// The matrix query, shared by the matrix page and the start-up preload (a cold load of
// /matrix fetches the coverage matrix while the session and the page's code load,
// instead of after them).
import { api, ok, withQuery } from "./client";

// release picks an imported ATT&CK release (empty: the newest); it is not a filter, so
// clearing the filters keeps it.
export type MatrixFilters = { platform: string; actor: string; campaign: string; snapshot: string; release: string };
export const MATRIX_FILTERS: (keyof MatrixFilters)[] = ["platform", "actor", "campaign", "snapshot"];

export function matrixFilters(p: URLSearchParams): MatrixFilters {
  return { platform: p.get("platform") ?? "", actor: p.get("actor") ?? "", campaign: p.get("campaign") ?? "", snapshot: p.get("snapshot") ?? "", release: p.get("release") ?? "" };
}

export const matrixQuery = (f: MatrixFilters) => ({
  queryKey: ["matrix", f] as const,
  queryFn: () => ok(api.GET("/api/v1/matrix", withQuery({ domain: "enterprise-attack", ...f }))),
  staleTime: 30_000,
});

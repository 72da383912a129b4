// The matrix query, shared by the matrix page and the start-up preload (a cold load of
// /matrix fetches the coverage matrix while the session and the page's code load,
// instead of after them).
import { api, ok, withQuery } from "./client";

export type MatrixFilters = { platform: string; actor: string; campaign: string; snapshot: string };
export const MATRIX_FILTERS: (keyof MatrixFilters)[] = ["platform", "actor", "campaign", "snapshot"];

export function matrixFilters(p: URLSearchParams): MatrixFilters {
  return { platform: p.get("platform") ?? "", actor: p.get("actor") ?? "", campaign: p.get("campaign") ?? "", snapshot: p.get("snapshot") ?? "" };
}

export const matrixQuery = (f: MatrixFilters) => ({
  queryKey: ["matrix", f] as const,
  queryFn: () => ok(api.GET("/api/v1/matrix", withQuery({ domain: "enterprise-attack", ...f }))),
  staleTime: 30_000,
});

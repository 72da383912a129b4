import { api, ok, withQuery } from "@/api/client";

export type CatalogFilters = { search: string; source: string; platform: string; status: string; technique: string };
export const catalogKeys = {
  all: ["catalog"] as const,
  templates: (f: CatalogFilters) => ["catalog", "templates", f] as const,
  template: (id: string) => ["catalog", "template", id] as const,
  templateRules: (id: string) => ["catalog", "template", id, "rules"] as const,
  rules: (f: CatalogFilters) => ["catalog", "rules", f] as const,
  rule: (id: string) => ["catalog", "rule", id] as const,
  ruleTemplates: (id: string) => ["catalog", "rule", id, "templates"] as const,
};

export const CATALOG_PAGE = 200;

export const pageTemplates = (f: CatalogFilters, offset: number) =>
  ok(api.GET("/api/v1/templates", withQuery({ ...f, offset, limit: CATALOG_PAGE })));
export const pageRules = (f: CatalogFilters, offset: number) =>
  ok(api.GET("/api/v1/detection-rules", withQuery({ ...f, offset, limit: CATALOG_PAGE })));

/** nextOffset is TanStack's getNextPageParam for offset paging. */
export function nextOffset(last: { offset: number; items: unknown[]; total: number }) {
  const next = last.offset + last.items.length;
  return next < last.total && last.items.length > 0 ? next : undefined;
}

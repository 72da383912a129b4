// The frame both catalogs share: search and filters, a virtualised list that pages in
// as it scrolls, row selection for bulk activation, and a detail panel.
import { useMutation, useQueryClient, type UseInfiniteQueryResult, type InfiniteData } from "@tanstack/react-query";
import { Search, X } from "lucide-react";
import { useCallback, useEffect, useState, type ReactNode } from "react";
import { useDebounce } from "@/ui/hooks";
import { api, ok } from "@/api/client";
import { Button, Empty, ErrorNote, Input, PageHeader, Select } from "@/ui/primitives";
import { VirtualTable, type Column } from "@/ui/VirtualTable";
import { catalogKeys, type CatalogFilters } from "./queries";

type Page<T> = { items: T[]; total: number; offset: number; limit: number };

export function useCatalogFilters() {
  const [f, setF] = useState<CatalogFilters>({ search: "", source: "", platform: "", status: "active", technique: "" });
  const set = useCallback((k: keyof CatalogFilters, v: string) => setF((o) => ({ ...o, [k]: v })), []);
  return [f, set] as const;
}

export function CatalogPage<T extends { id: string }>({
  title,
  kind,
  query,
  filters,
  setFilter,
  columns,
  sources,
  platformLabel,
  canBulk,
  rowName,
  detail,
}: {
  title: string;
  kind: "templates" | "detection-rules";
  query: UseInfiniteQueryResult<InfiniteData<Page<T>>>;
  filters: CatalogFilters;
  setFilter: (k: keyof CatalogFilters, v: string) => void;
  columns: Column<T>[];
  sources: string[];
  platformLabel: string;
  canBulk: boolean;
  /** rowName names a row for its selection box ("Select <name>"). */
  rowName: (r: T) => string;
  detail: (id: string, close: () => void) => ReactNode;
}) {
  const qc = useQueryClient();
  const [search, setSearch] = useState(filters.search);
  const [selected, setSelected] = useState<string | null>(null);
  const [picked, setPicked] = useState<Set<string>>(new Set());
  const [done, setDone] = useState("");
  const rows = query.data?.pages.flatMap((p) => p.items) ?? [];
  const total = query.data?.pages[0]?.total;
  const bulk = useMutation({
    mutationFn: (active: boolean) =>
      ok(api.POST(`/api/v1/${kind}/bulk-activate` as "/api/v1/templates/bulk-activate", { body: { ids: [...picked], active } })),
    onSuccess: (_, active) => {
      setDone(`${picked.size.toLocaleString()} ${picked.size === 1 ? "entry" : "entries"} ${active ? "activated" : "deactivated"}.`);
      setPicked(new Set());
      qc.invalidateQueries({ queryKey: catalogKeys.all });
    },
  });
  const toggle = (id: string) =>
    setPicked((s) => {
      const n = new Set(s);
      if (n.has(id)) n.delete(id);
      else n.add(id);
      return n;
    });
  const cols: Column<T>[] = canBulk
    ? [
        {
          key: "pick",
          header: <span className="sr-only">Select</span>,
          width: "36px",
          cell: (r) => (
            <input type="checkbox" aria-label={`Select ${rowName(r)}`} checked={picked.has(r.id)} onClick={(e) => e.stopPropagation()} onChange={() => toggle(r.id)} />
          ),
        },
        ...columns,
      ]
    : columns;
  // The search filter follows the box 300 ms after typing stops.
  const debounced = useDebounce(search);
  useEffect(() => {
    if (debounced !== filters.search) setFilter("search", debounced);
  }, [debounced, filters.search, setFilter]);
  const onSearch = setSearch;
  return (
    <div>
      <PageHeader title={title} subtitle={total == null ? "Loading…" : `${total.toLocaleString()} ${total === 1 ? "match" : "matches"}`} />
      <div className="mb-3 flex flex-wrap items-center gap-2">
        <div className="relative w-80">
          <Search className="pointer-events-none absolute top-2 left-2.5 size-4 text-muted" aria-hidden />
          <Input aria-label="Search" placeholder="Search every word…" className="pl-8" value={search} onChange={(e) => onSearch(e.target.value)} />
        </div>
        <Input aria-label="Technique" placeholder="Technique" className="w-32" value={filters.technique} onChange={(e) => setFilter("technique", e.target.value.trim().toUpperCase())} />
        <Select aria-label="Source" className="w-36" value={filters.source} onChange={(e) => setFilter("source", e.target.value)}>
          <option value="">Every source</option>
          {sources.map((s) => <option key={s} value={s}>{s}</option>)}
        </Select>
        <Input aria-label={platformLabel} placeholder={platformLabel} className="w-32" value={filters.platform} onChange={(e) => setFilter("platform", e.target.value.trim().toLowerCase())} />
        <Select aria-label="Status" className="w-32" value={filters.status} onChange={(e) => setFilter("status", e.target.value)}>
          <option value="">Any status</option>
          <option value="active">Active</option>
          <option value="inactive">Inactive</option>
          <option value="deprecated">Deprecated</option>
        </Select>
        {canBulk && picked.size === 0 && done && <div role="status" className="ml-auto text-[12px] text-muted">{done}</div>}
        {canBulk && picked.size > 0 && (
          <div className="ml-auto flex items-center gap-2 text-[12px]">
            {picked.size} selected
            <Button onClick={() => bulk.mutate(true)} busy={bulk.isPending && bulk.variables}>Activate</Button>
            <Button onClick={() => bulk.mutate(false)} busy={bulk.isPending && !bulk.variables}>Deactivate</Button>
            <Button variant="ghost" aria-label="Clear selection" onClick={() => setPicked(new Set())}><X className="size-4" /></Button>
          </div>
        )}
      </div>
      <ErrorNote error={query.error ?? bulk.error} className="mb-3" />
      <div className="flex gap-4">
        <div className="min-w-0 flex-1">
          {total === 0 ? (
            <div className="rounded-lg border border-line bg-panel">
              <Empty>
                {filters.search || filters.technique || filters.source || filters.platform || (filters.status && filters.status !== "active")
                  ? "Nothing matches these filters."
                  : `No ${title.toLowerCase()} yet. An administrator imports them (Atomic Red Team, Sigma) under System → Plugins & imports.`}
              </Empty>
            </div>
          ) : <VirtualTable
            label={title}
            rows={rows}
            columns={cols}
            rowKey={(r) => r.id}
            selected={selected}
            onRowClick={(r) => setSelected(r.id)}
            onEndReached={() => query.hasNextPage && !query.isFetchingNextPage && query.fetchNextPage()}
            height="calc(100vh - 250px)"
          />}
        </div>
        {selected && (
          <aside aria-label="Details" className="w-[440px] shrink-0 overflow-y-auto rounded-lg border border-line bg-panel" style={{ height: "calc(100vh - 214px)" }}>
            {detail(selected, () => setSelected(null))}
          </aside>
        )}
      </div>
    </div>
  );
}

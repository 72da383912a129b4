import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { X } from "lucide-react";
import { api, ok, type Schemas } from "@/api/client";
import { useSession } from "@/app/session";
import { Badge, Button, Empty, ErrorNote, KV, Mono, Spinner, type Tone } from "@/ui/primitives";
import { CatalogPage, useCatalogFilters } from "./Catalog";
import { catalogKeys, nextOffset, pageRules } from "./queries";
import { Code, Status, TechniqueIds } from "./TemplatesPage";

type Rule = Schemas["DetectionRule"];

const LEVEL: Record<string, Tone> = { critical: "red", high: "red", medium: "amber", low: "blue", informational: "gray" };
export const Level = ({ level }: { level: string }) => <Badge tone={LEVEL[level] ?? "gray"}>{level || "—"}</Badge>;

function RuleDetail({ id, close }: { id: string; close: () => void }) {
  const r = useQuery({ queryKey: catalogKeys.rule(id), queryFn: () => ok(api.GET("/api/v1/detection-rules/{id}", { params: { path: { id } } })) });
  const tpl = useQuery({ queryKey: catalogKeys.ruleTemplates(id), queryFn: () => ok(api.GET("/api/v1/detection-rules/{id}/templates", { params: { path: { id } } })) });
  if (r.isPending) return <Spinner />;
  if (r.isError) return <div className="p-4"><ErrorNote error={r.error} /></div>;
  const d = r.data;
  return (
    <div className="p-4">
      <div className="mb-3 flex items-start justify-between gap-2">
        <h2 className="font-semibold">{d.title}</h2>
        <Button variant="ghost" aria-label="Close details" onClick={close}><X className="size-4" /></Button>
      </div>
      <div className="mb-3 flex flex-wrap gap-1.5">
        <Status active={d.active} deprecated={d.deprecated} />
        <Level level={d.level} />
        <Badge tone="indigo">{d.source}</Badge>
        <Badge>{d.format}</Badge>
        {d.status && <Badge>{d.status}</Badge>}
      </div>
      <KV items={[["Techniques", <TechniqueIds ids={d.technique_ids} />], ["Author", d.author || "—"], ["Language", d.language || "—"], ["External id", <Mono>{d.external_id}</Mono>]]} />
      {d.description && <p className="mt-3 text-[13px] whitespace-pre-wrap text-muted [overflow-wrap:anywhere]">{d.description}</p>}
      {d.query && <><h3 className="mt-4 mb-1 text-[12px] font-medium text-muted">Query</h3><Code>{d.query}</Code></>}
      {d.raw && <><h3 className="mt-4 mb-1 text-[12px] font-medium text-muted">Rule</h3><Code>{d.raw}</Code></>}
      <h3 className="mt-4 mb-1 text-[12px] font-medium text-muted">Templates it should fire on {tpl.data && `(${tpl.data.total})`}</h3>
      {tpl.isPending ? <Spinner /> : tpl.data?.items.length === 0 ? <Empty>None in the catalog.</Empty> : (
        <ul className="divide-y divide-line text-[13px]">
          {tpl.data?.items.slice(0, 25).map((t) => (
            <li key={t.id} className="flex items-center justify-between gap-2 py-1.5">
              <span className="truncate" title={t.reason}>{t.name}</span>
              <Badge tone="indigo">{t.source}</Badge>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export default function RulesPage() {
  const { role } = useSession();
  const [filters, setFilter] = useCatalogFilters();
  const q = useInfiniteQuery({
    queryKey: catalogKeys.rules(filters),
    queryFn: ({ pageParam }) => pageRules(filters, pageParam),
    initialPageParam: 0,
    getNextPageParam: nextOffset,
  });
  return (
    <CatalogPage<Rule>
      title="Detection rules"
      kind="detection-rules"
      query={q}
      filters={filters}
      setFilter={setFilter}
      sources={["sigma", "elastic", "csvimport", "custom"]}
      platformLabel="Log source"
      canBulk={role === "blue_lead" || role === "admin"}
      rowName={(r) => r.title}
      detail={(id, close) => <RuleDetail id={id} close={close} />}
      columns={[
        { key: "title", header: "Title", width: "minmax(0,1fr)", cell: (r) => <span className="font-medium">{r.title}</span> },
        { key: "tech", header: "Techniques", width: "150px", cell: (r) => <TechniqueIds ids={r.technique_ids} max={1} /> },
        { key: "lvl", header: "Level", width: "100px", cell: (r) => <Level level={r.level} /> },
        { key: "src", header: "Source", width: "90px", cell: (r) => <Badge tone="indigo">{r.source}</Badge> },
        { key: "st", header: "Status", width: "100px", cell: (r) => <Status active={r.active} deprecated={r.deprecated} /> },
      ]}
    />
  );
}

import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { Plus, X } from "lucide-react";
import { Link } from "react-router";
import { api, ok, type Schemas } from "@/api/client";
import { useSession } from "@/app/session";
import { Badge, Button, cx, Empty, ErrorNote, KV, Mono, Spinner } from "@/ui/primitives";
import { CatalogPage, useCatalogFilters } from "./Catalog";
import { catalogKeys, nextOffset, pageTemplates } from "./queries";

type Template = Schemas["TestTemplate"];

export function Code({ children }: { children: string }) {
  return <pre className="max-h-72 overflow-auto rounded-md bg-panel-2 p-3 font-mono text-[12px] leading-relaxed whitespace-pre-wrap">{children}</pre>;
}

/** TechniqueIds links ATT&CK ids: all of them (wrapping) in a detail, the first and a count in a narrow table cell. */
export function TechniqueIds({ ids, max }: { ids: string[]; max?: number }) {
  const shown = max ? ids.slice(0, max) : ids;
  if (ids.length === 0) return <span className="text-[12px] text-muted">—</span>;
  return (
    <span className={cx("flex min-w-0 gap-1", max ? "overflow-hidden whitespace-nowrap" : "flex-wrap")} title={max && ids.length > max ? ids.join(", ") : undefined}>
      {shown.map((t) => (
        <Link key={t} to={`/techniques/${t}`} onClick={(e) => e.stopPropagation()} className="font-mono text-[12px] hover:text-accent">{t}</Link>
      ))}
      {ids.length > shown.length && <span className="text-[12px] text-muted">+{ids.length - shown.length}</span>}
    </span>
  );
}

export function Status({ active, deprecated }: { active: boolean; deprecated: boolean }) {
  if (deprecated) return <Badge tone="violet">deprecated</Badge>;
  return active ? <Badge tone="green">active</Badge> : <Badge>inactive</Badge>;
}

function TemplateDetail({ id, close }: { id: string; close: () => void }) {
  const { role } = useSession();
  const t = useQuery({ queryKey: catalogKeys.template(id), queryFn: () => ok(api.GET("/api/v1/templates/{id}", { params: { path: { id } } })) });
  const rules = useQuery({ queryKey: catalogKeys.templateRules(id), queryFn: () => ok(api.GET("/api/v1/templates/{id}/detection-rules", { params: { path: { id } } })) });
  if (t.isPending) return <Spinner />;
  if (t.isError) return <div className="p-4"><ErrorNote error={t.error} /></div>;
  const d = t.data;
  return (
    <div className="p-4">
      <div className="mb-3 flex items-start justify-between gap-2">
        <h2 className="font-semibold">{d.name}</h2>
        <Button variant="ghost" aria-label="Close details" onClick={close}><X className="size-4" /></Button>
      </div>
      <div className="mb-3 flex flex-wrap gap-1.5">
        <Status active={d.active} deprecated={d.deprecated} />
        <Badge tone="indigo">{d.source}</Badge>
        {d.template_type && d.template_type !== d.source && <Badge>{d.template_type}</Badge>}
        {d.elevation_required && <Badge tone="amber">elevation</Badge>}
      </div>
      {["red_tech", "red_lead", "blue_lead", "admin"].includes(role) && d.technique_ids[0] && (
        <Link to={`/tests/new?technique=${d.technique_ids[0]}&template=${d.id}`}>
          <Button variant="primary" className="mb-4"><Plus className="size-4" aria-hidden /> Create a test from this</Button>
        </Link>
      )}
      <KV items={[["Techniques", <TechniqueIds ids={d.technique_ids} />], ["Platforms", d.platforms.join(", ") || "—"], ["Executor", d.executor_name || "—"], ["External id", <Mono>{d.external_id}</Mono>]]} />
      {d.description && <p className="mt-3 text-[13px] whitespace-pre-wrap text-muted [overflow-wrap:anywhere]">{d.description}</p>}
      {d.command && <><h3 className="mt-4 mb-1 text-[12px] font-medium text-muted">Command</h3><Code>{d.command}</Code></>}
      {d.cleanup_command && <><h3 className="mt-3 mb-1 text-[12px] font-medium text-muted">Cleanup</h3><Code>{d.cleanup_command}</Code></>}
      {d.manual_steps && <><h3 className="mt-3 mb-1 text-[12px] font-medium text-muted">Manual steps</h3><Code>{d.manual_steps}</Code></>}
      <h3 className="mt-4 mb-1 text-[12px] font-medium text-muted">Detection rules expected to fire {rules.data && `(${rules.data.total})`}</h3>
      {rules.isPending ? <Spinner /> : rules.data?.items.length === 0 ? <Empty>None in the catalog.</Empty> : (
        <ul className="divide-y divide-line text-[13px]">
          {rules.data?.items.slice(0, 25).map((r) => (
            <li key={r.id} className="flex items-center justify-between gap-2 py-1.5">
              <span className="truncate" title={r.reason}>{r.title}</span>
              <Badge tone={r.level === "critical" || r.level === "high" ? "red" : r.level === "medium" ? "amber" : "gray"}>{r.level || "—"}</Badge>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export default function TemplatesPage() {
  const { role } = useSession();
  const [filters, setFilter] = useCatalogFilters();
  const q = useInfiniteQuery({
    queryKey: catalogKeys.templates(filters),
    queryFn: ({ pageParam }) => pageTemplates(filters, pageParam),
    initialPageParam: 0,
    getNextPageParam: nextOffset,
  });
  return (
    <CatalogPage<Template>
      title="Test templates"
      kind="templates"
      query={q}
      filters={filters}
      setFilter={setFilter}
      sources={["atomic", "caldera", "lolbas", "gtfobins", "csvimport", "custom"]}
      platformLabel="Platform"
      canBulk={role === "red_lead" || role === "admin"}
      rowName={(r) => r.name}
      detail={(id, close) => <TemplateDetail id={id} close={close} />}
      columns={[
        { key: "name", header: "Name", width: "minmax(0,1fr)", cell: (t) => <span className="font-medium">{t.name}</span> },
        { key: "tech", header: "Techniques", width: "150px", cell: (t) => <TechniqueIds ids={t.technique_ids} max={1} /> },
        { key: "plat", header: "Platforms", width: "150px", cell: (t) => <span className="text-muted">{t.platforms.join(", ")}</span> },
        { key: "src", header: "Source", width: "90px", cell: (t) => <Badge tone="indigo">{t.source}</Badge> },
        { key: "st", header: "Status", width: "100px", cell: (t) => <Status active={t.active} deprecated={t.deprecated} /> },
      ]}
    />
  );
}

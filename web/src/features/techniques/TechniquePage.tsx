import { useQuery } from "@tanstack/react-query";
import { ExternalLink, Plus } from "lucide-react";
import { useState } from "react";
import { Link, useParams } from "react-router";
import { api, ok, withQuery } from "@/api/client";
import { useSession } from "@/app/session";
import { formatDate, humanize, stateLabel, timeAgo } from "@/lib/format";
import { coverageOf } from "@/ui/coverage";
import { Badge, Button, Card, Empty, ErrorNote, Mono, PageHeader, Spinner, stateTone, type Tone } from "@/ui/primitives";

export const techniqueKeys = {
  detail: (id: string) => ["techniques", id] as const,
  actors: (id: string) => ["techniques", id, "actors"] as const,
  intel: (id: string) => ["techniques", id, "intel"] as const,
};

/** ActorsUsing lists the threat actors that use a technique (directly, through software or campaigns). */
function ActorsUsing({ technique }: { technique: string }) {
  const q = useQuery({
    queryKey: techniqueKeys.actors(technique),
    queryFn: () => ok(api.GET("/api/v1/threat-actors", withQuery({ technique, limit: 12 }))),
  });
  return (
    <Card title={`Threat actors using it${q.data ? ` (${q.data.total})` : ""}`}>
      {q.isPending ? <Spinner /> : q.isError ? <ErrorNote error={q.error} /> : q.data.items.length === 0 ? <Empty>No imported threat actor uses it.</Empty> : (
        <ul aria-label="Threat actors using it" className="space-y-1.5">
          {q.data.items.map((a) => (
            <li key={a.id} className="flex items-center justify-between gap-2 text-[13px]">
              <Link to={`/actors?actor=${a.external_id}`} className="truncate hover:text-accent">{a.name}</Link>
              <Mono className="text-muted">{a.external_id}</Mono>
            </li>
          ))}
          {q.data.total > q.data.items.length && <li className="text-[12px] text-muted">and {q.data.total - q.data.items.length} more</li>}
        </ul>
      )}
    </Card>
  );
}

/** IntelMentioning lists the newest intel items that name a technique. */
function IntelMentioning({ technique }: { technique: string }) {
  const q = useQuery({
    queryKey: techniqueKeys.intel(technique),
    queryFn: () => ok(api.GET("/api/v1/intel", withQuery({ technique, limit: 8 }))),
  });
  return (
    <Card title={`Intel mentioning it${q.data ? ` (${q.data.total})` : ""}`}>
      {q.isPending ? <Spinner /> : q.isError ? <ErrorNote error={q.error} /> : q.data.items.length === 0 ? <Empty>No imported intel item names it.</Empty> : (
        <ul aria-label="Intel mentioning it" className="space-y-2">
          {q.data.items.map((i) => (
            <li key={i.id} className="text-[13px]">
              {i.link ? <a href={i.link} target="_blank" rel="noreferrer" className="font-medium hover:text-accent">{i.title}</a> : <span className="font-medium">{i.title}</span>}
              <div className="text-[12px] text-muted">{i.source}{i.published_at ? ` · ${formatDate(i.published_at)}` : ""}</div>
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}

const LEVEL: Record<string, Tone> = { critical: "red", high: "red", medium: "amber", low: "blue" };

/** ATT&CK descriptions carry "(Citation: …)" markers meant for footnotes, and <code> tags around names. */
export const clean = (s: string) => s.replace(/\(Citation:[^)]*\)/g, "").replace(/<\/?code>/g, "").replace(/\s+([.,])/g, "$1");

const MD_LINK = /\[([^\]]+)\]\((https?:\/\/[^)\s]+)\)/g;

/** Description renders ATT&CK's Markdown links; links to other techniques stay in the app. */
export function Description({ text }: { text: string }) {
  const parts: React.ReactNode[] = [];
  let last = 0;
  for (const m of clean(text).matchAll(MD_LINK)) {
    const [all, label, url] = m;
    parts.push(clean(text).slice(last, m.index));
    const tech = /attack\.mitre\.org\/techniques\/(T\d{4})(?:\/(\d{3}))?/.exec(url!);
    parts.push(
      tech ? (
        <Link key={m.index} to={`/techniques/${tech[1]}${tech[2] ? "." + tech[2] : ""}`} className="text-accent hover:underline">{label}</Link>
      ) : (
        <a key={m.index} href={url} target="_blank" rel="noreferrer" className="text-accent hover:underline">{label}</a>
      ),
    );
    last = m.index! + all.length;
  }
  parts.push(clean(text).slice(last));
  return <p className="text-[13px] leading-relaxed whitespace-pre-wrap">{parts}</p>;
}

export default function TechniquePage() {
  const { id = "" } = useParams();
  const { role } = useSession();
  const [openRule, setOpenRule] = useState<string | null>(null);
  const q = useQuery({ queryKey: techniqueKeys.detail(id), queryFn: () => ok(api.GET("/api/v1/techniques/{id}", { params: { path: { id } } })) });
  if (q.isPending) return <Spinner />;
  if (q.isError) return <ErrorNote error={q.error} />;
  const t = q.data;
  const cov = coverageOf(t.coverage_status);
  const canCreate = ["red_tech", "red_lead", "blue_lead", "admin"].includes(role);
  return (
    <div>
      <div className="mb-1 text-[12px] text-muted"><Link to="/matrix" className="hover:text-fg">ATT&CK Matrix</Link> / {t.external_id}</div>
      <PageHeader
        title={<span className="flex items-center gap-3"><span className="font-mono text-muted">{t.external_id}</span>{t.name}<Badge tone={cov.tone}>{cov.label}</Badge></span>}
        subtitle={`${t.tactics.map(humanize).join(" · ")} · ATT&CK ${t.last_seen_release || "?"}${t.revoked ? " · revoked" : ""}${t.deprecated ? " · deprecated" : ""}`}
        actions={
          <>
            {t.url && <a href={t.url} target="_blank" rel="noreferrer" className="flex items-center gap-1 text-[13px] text-accent hover:underline">attack.mitre.org <ExternalLink className="size-3.5" /></a>}
            {canCreate && <Link to={`/tests/new?technique=${t.external_id}`}><Button variant="primary"><Plus className="size-4" aria-hidden /> New test</Button></Link>}
          </>
        }
      />
      <div className="grid grid-cols-1 gap-4 xl:grid-cols-3">
        <div className="min-w-0 space-y-4 xl:col-span-2">
          <Card title="Description">
            <Description text={t.description} />
            <div className="mt-3 flex flex-wrap gap-1.5">{t.platforms.map((p) => <Badge key={p}>{p}</Badge>)}</div>
          </Card>
          <Card title={`Tests (${t.tests.total})`}>
            {t.tests.items.length === 0 ? <Empty>No test of this technique yet.</Empty> : (
              <ul className="-my-1 divide-y divide-line">
                {t.tests.items.map((x) => (
                  <li key={x.id} className="flex items-center justify-between gap-3 py-2 text-[13px]">
                    <Link to={`/tests/${x.id}`} className="truncate font-medium hover:text-accent">{x.title}</Link>
                    <span className="flex shrink-0 items-center gap-2"><span className="text-[12px] text-muted">{timeAgo(x.updated_at)}</span><Badge tone={stateTone(x.state)}>{stateLabel(x.state)}</Badge></span>
                  </li>
                ))}
              </ul>
            )}
          </Card>
          <Card title={`Detection rules (${t.detection_rules.total})`} actions={t.detection_rules.total > t.detection_rules.items.length && <Link to={`/catalog/rules`} className="text-[12px] text-accent hover:underline">All in the catalog</Link>}>
            {t.detection_rules.items.length === 0 ? <Empty>No detection rule maps to this technique.</Empty> : (
              <ul className="-my-1 divide-y divide-line">
                {t.detection_rules.items.map((r) => (
                  <li key={r.id} className="py-2">
                    <button type="button" aria-expanded={openRule === r.id} onClick={() => setOpenRule(openRule === r.id ? null : r.id)} className="flex w-full items-center justify-between gap-3 text-left text-[13px] hover:text-accent">
                      <span className="truncate">{r.title}</span>
                      <span className="flex shrink-0 gap-1.5"><Badge tone={LEVEL[r.level] ?? "gray"}>{r.level || "—"}</Badge><Badge tone="indigo">{r.source}</Badge></span>
                    </button>
                    {openRule === r.id && (
                      <pre className="mt-2 max-h-80 overflow-auto rounded-md bg-panel-2 p-3 font-mono text-[12px] whitespace-pre-wrap">{r.raw || r.query}</pre>
                    )}
                  </li>
                ))}
              </ul>
            )}
          </Card>
        </div>
        <div className="min-w-0 space-y-4">
          {t.sub_techniques.items.length > 0 && (
            <Card title={`Sub-techniques (${t.sub_techniques.total})`}>
              <ul className="space-y-1.5">
                {t.sub_techniques.items.map((s) => (
                  <li key={s.id} className="flex items-center gap-2 text-[13px]">
                    <span className="size-2 shrink-0 rounded-sm" style={{ background: coverageOf(s.coverage_status).color }} />
                    <Link to={`/techniques/${s.external_id}`} className="truncate hover:text-accent"><Mono className="text-muted">{s.external_id}</Mono> {s.name}</Link>
                  </li>
                ))}
              </ul>
            </Card>
          )}
          <Card title={`Test templates (${t.templates.total})`}>
            {t.templates.items.length === 0 ? <Empty>No template in the catalog.</Empty> : (
              <ul className="space-y-1.5">
                {t.templates.items.map((x) => (
                  <li key={x.id} className="flex items-center justify-between gap-2 text-[13px]">
                    {canCreate ? <Link to={`/tests/new?technique=${t.external_id}&template=${x.id}`} className="truncate hover:text-accent" title="Create a test from this template">{x.name}</Link> : <span className="truncate">{x.name}</span>}
                    <Badge tone="indigo">{x.source}</Badge>
                  </li>
                ))}
              </ul>
            )}
          </Card>
          <Card title={`D3FEND defences (${t.defenses.total})`}>
            {t.defenses.items.length === 0 ? <Empty>No D3FEND defence imported for this technique.</Empty> : (
              <ul className="space-y-2">
                {t.defenses.items.map((d) => (
                  <li key={d.id} className="text-[13px]">
                    <a href={d.uri} target="_blank" rel="noreferrer" className="font-medium hover:text-accent">{d.name}</a>
                    <div className="text-[12px] text-muted">{d.tactic} · {humanize(d.relation)}{d.via ? ` via ${d.via}` : ""}</div>
                  </li>
                ))}
              </ul>
            )}
          </Card>
          <ActorsUsing technique={t.external_id} />
          <IntelMentioning technique={t.external_id} />
          {t.data_sources.length > 0 && (
            <Card title="Data sources">
              <div className="flex flex-wrap gap-1.5">{t.data_sources.map((d) => <Badge key={d}>{d}</Badge>)}</div>
            </Card>
          )}
        </div>
      </div>
    </div>
  );
}

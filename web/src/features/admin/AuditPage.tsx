import { useInfiniteQuery, useMutation } from "@tanstack/react-query";
import { ShieldCheck, ShieldX } from "lucide-react";
import { useState } from "react";
import { api, ok, withQuery, type Schemas } from "@/api/client";
import { formatDate } from "@/lib/format";
import { useDebounce } from "@/ui/hooks";
import { Badge, Button, ErrorNote, Input, Mono, PageHeader } from "@/ui/primitives";
import { VirtualTable } from "@/ui/VirtualTable";
import { adminKeys } from "./queries";

type Entry = Schemas["AuditEntry"];

export default function AuditPage() {
  const [actorIn, setActor] = useState("");
  const [actionIn, setAction] = useState("");
  const actor = useDebounce(actorIn.trim());
  const action = useDebounce(actionIn.trim());
  const [selected, setSelected] = useState<Entry | null>(null);
  const q = useInfiniteQuery({
    queryKey: adminKeys.audit({ actor, action }),
    queryFn: ({ pageParam }) => ok(api.GET("/api/v1/audit", withQuery({ actor, action, offset: pageParam, limit: 200 }))),
    initialPageParam: 0,
    getNextPageParam: (last) => (last.offset + last.items.length < last.total && last.items.length ? last.offset + last.items.length : undefined),
  });
  const verify = useMutation({ mutationFn: () => ok(api.GET("/api/v1/audit/verify")) });
  const rows = q.data?.pages.flatMap((p) => p.items) ?? [];
  const v = verify.data;
  return (
    <div>
      <PageHeader
        title="Audit log"
        subtitle={q.data ? `${q.data.pages[0]?.total.toLocaleString()} entries, each chained to the one before by SHA-256` : "Append-only, hash-chained"}
        actions={<Button variant="primary" busy={verify.isPending} onClick={() => verify.mutate()}><ShieldCheck className="size-4" aria-hidden /> Verify chain</Button>}
      />
      {v && (
        <div role="status" className={`mb-3 flex items-center gap-2 rounded-md border px-3 py-2 text-[13px] ${v.ok ? "border-emerald-500/40 bg-emerald-500/10" : "border-red-500/40 bg-red-500/10"}`}>
          {v.ok ? <ShieldCheck className="size-4 text-emerald-600" /> : <ShieldX className="size-4 text-red-600" />}
          {v.ok ? `Chain intact: ${v.checked.toLocaleString()} entries checked.` : `Chain broken at entry #${v.broken_seq}: ${v.reason}`}
        </div>
      )}
      <ErrorNote error={verify.error ?? q.error} className="mb-3" />
      <div className="mb-3 flex gap-2">
        <Input aria-label="Actor" placeholder="Actor (username)" className="w-52" value={actorIn} onChange={(e) => setActor(e.target.value)} />
        <Input aria-label="Action" placeholder="Action, e.g. test.vote" className="w-52" value={actionIn} onChange={(e) => setAction(e.target.value)} />
      </div>
      <div className="flex gap-4">
        <div className="min-w-0 flex-1">
          <VirtualTable
            label="Audit log"
            rows={rows}
            rowKey={(r) => r.id}
            selected={selected?.id}
            onRowClick={setSelected}
            onEndReached={() => q.hasNextPage && !q.isFetchingNextPage && q.fetchNextPage()}
            height="calc(100vh - 290px)"
            columns={[
              { key: "seq", header: "#", width: "70px", cell: (r) => <span className="tabular-nums text-muted">{r.seq}</span> },
              { key: "at", header: "When", width: "170px", cell: (r) => formatDate(r.at) },
              { key: "actor", header: "Actor", width: "130px", cell: (r) => r.actor_name || <span className="text-muted">system</span> },
              { key: "action", header: "Action", width: "minmax(0,1fr)", cell: (r) => <Mono>{r.action}</Mono> },
              { key: "entity", header: "Entity", width: "120px", cell: (r) => <Badge>{r.entity_type}</Badge> },
              { key: "hash", header: "Hash", width: "110px", cell: (r) => <Mono className="text-muted">{r.hash.slice(0, 10)}</Mono> },
            ]}
          />
        </div>
        {selected && (
          <aside aria-label="Entry" className="w-[420px] shrink-0 overflow-auto rounded-lg border border-line bg-panel p-4 text-[13px]" style={{ maxHeight: "calc(100vh - 254px)" }}>
            <div className="mb-2 font-semibold"><Mono>{selected.action}</Mono></div>
            <div className="space-y-1 text-[12px] text-muted">
              <div>#{selected.seq} · {formatDate(selected.at)} · {selected.actor_name || "system"}</div>
              <div>{selected.entity_type} <Mono>{selected.entity_id}</Mono></div>
              <div>hash <Mono className="break-all">{selected.hash}</Mono></div>
              <div>previous <Mono className="break-all">{selected.prev_hash}</Mono></div>
            </div>
            <pre className="mt-3 overflow-auto rounded-md bg-panel-2 p-3 font-mono text-[11px] whitespace-pre-wrap">{JSON.stringify(selected.details, null, 2)}</pre>
          </aside>
        )}
      </div>
    </div>
  );
}

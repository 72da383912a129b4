import { Link } from "react-router";
import { useTechniqueIndex } from "@/api/lookups";

/** TechniqueRef links a technique by internal id, shown as its ATT&CK id and name. */
export function TechniqueRef({ id, withName = false }: { id: string; withName?: boolean }) {
  const idx = useTechniqueIndex();
  const t = idx.data?.byId.get(id);
  if (!t) return <span className="font-mono text-[12px] text-muted">{idx.isPending ? "…" : "unknown"}</span>;
  return (
    <Link to={`/techniques/${t.external_id}`} onClick={(e) => e.stopPropagation()} className="hover:text-accent" title={t.name}>
      <span className="font-mono text-[12px]">{t.external_id}</span>
      {withName && <span className="ml-1.5">{t.name}</span>}
    </Link>
  );
}

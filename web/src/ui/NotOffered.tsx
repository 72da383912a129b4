import { Construction } from "lucide-react";
import { PageHeader } from "./primitives";

/**
 * NotOffered is the honest page for a section whose API this server does not have:
 * it says which routes are missing instead of showing made-up data.
 */
export function NotOffered({ title, what, routes }: { title: string; what: string; routes: string[] }) {
  return (
    <div className="max-w-2xl">
      <PageHeader title={title} />
      <div className="rounded-lg border border-line bg-panel p-6">
        <div className="flex items-start gap-3">
          <Construction className="mt-0.5 size-5 shrink-0 text-amber-500" aria-hidden />
          <div className="text-[13px]">
            <p className="font-medium">This server does not offer {what} yet.</p>
            <p className="mt-1 text-muted">The page appears here as soon as the API answers these routes:</p>
            <ul className="mt-2 space-y-0.5 font-mono text-[12px]">{routes.map((r) => <li key={r}>{r}</li>)}</ul>
          </div>
        </div>
      </div>
    </div>
  );
}

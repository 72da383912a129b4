import { useQuery } from "@tanstack/react-query";
import { lazy, Suspense, useMemo } from "react";
import { api, ok, withQuery } from "@/api/client";
import { useTechniqueIndex } from "@/api/lookups";
import { Card, Empty, ErrorNote, PageHeader, Spinner, Stat } from "@/ui/primitives";
import { tacticCoverage } from "./model";

const TacticChart = lazy(() => import("./TacticChart"));

export const executiveKeys = { tactics: ["executive", "tactics"] as const, validated: ["executive", "validated"] as const, review: ["executive", "review"] as const };

export default function ExecutivePage() {
  const techniques = useTechniqueIndex();
  const tactics = useQuery({ queryKey: executiveKeys.tactics, queryFn: () => ok(api.GET("/api/v1/tactics", withQuery({ domain: "enterprise-attack", limit: 100 }))) });
  const validated = useQuery({ queryKey: executiveKeys.validated, queryFn: () => ok(api.GET("/api/v1/tests", withQuery({ state: "validated", limit: 1 }))) });
  const review = useQuery({ queryKey: executiveKeys.review, queryFn: () => ok(api.GET("/api/v1/tests", withQuery({ state: "in_review", limit: 1 }))) });
  const rows = useMemo(() => (techniques.data && tactics.data ? tacticCoverage(tactics.data.items, techniques.data.all) : []), [techniques.data, tactics.data]);
  const error = techniques.error ?? tactics.error ?? validated.error;
  if (error) return <ErrorNote error={error} />;
  if (!techniques.data || !tactics.data) return <Spinner />;
  const total = rows.reduce((s, r) => s + r.techniques, 0);
  const covered = rows.reduce((s, r) => s + r.covered, 0);
  const tested = rows.reduce((s, r) => s + r.tested, 0);
  return (
    <div>
      <PageHeader title="Executive dashboard" subtitle="Where the organisation stands against ATT&CK Enterprise, per tactic." />
      <div className="mb-4 grid grid-cols-4 gap-3">
        <Stat label="Detected or prevented" value={`${total ? ((covered / total) * 100).toFixed(1) : "0"}%`} hint={`${covered} of ${total} technique placements`} />
        <Stat label="Tested" value={`${total ? ((tested / total) * 100).toFixed(1) : "0"}%`} hint="placements with any test" />
        <Stat label="Validated tests" value={validated.data?.total ?? "…"} hint="approved by both leads" />
        <Stat label="Awaiting review" value={review.data?.total ?? "…"} hint="tests in review" />
      </div>
      <Card title="Coverage by tactic">
        {rows.length === 0 || total === 0 ? (
          <Empty>No ATT&CK tactics yet. An administrator imports ATT&CK under System → Plugins & imports.</Empty>
        ) : (
          <Suspense fallback={<Spinner label="Drawing" />}>
            <TacticChart rows={rows} />
          </Suspense>
        )}
      </Card>
    </div>
  );
}

import { useQuery, useQueryClient } from "@tanstack/react-query";
import { lazy, Suspense, useEffect, useMemo } from "react";
import { Link } from "react-router";
import { api, ok, withQuery } from "@/api/client";
import { useSession } from "@/app/session";
import { stateLabel, STATES, timeAgo } from "@/lib/format";
import { COVERAGE, coverageOf } from "@/ui/coverage";
import { Badge, Card, Empty, ErrorNote, PageHeader, Spinner, Stat, stateTone } from "@/ui/primitives";
import { COVERAGE_ORDER, coverageCounts, dashboardKeys, isCurrentEnterprise, stateCounts, weeklyValidated } from "./queries";
import { useTechniqueIndex } from "@/api/lookups";
import { matrixFilters, matrixQuery } from "@/api/matrix";

const TrendChart = lazy(() => import("./TrendChart"));

function CoverageCard() {
  // The shared technique list: the matrix and every technique link reuse it.
  const idx = useTechniqueIndex();
  const current = useMemo(() => idx.data?.all.filter(isCurrentEnterprise), [idx.data]);
  const q = { ...idx, data: current };
  if (q.isPending || !q.data) return <Card title="ATT&CK Enterprise coverage"><Spinner /></Card>;
  if (q.isError) return <Card title="ATT&CK Enterprise coverage"><ErrorNote error={q.error} /></Card>;
  const counts = coverageCounts(q.data);
  const total = q.data.length;
  const tested = total - (counts.not_tested ?? 0);
  const covered = (counts.covered ?? 0) + (counts.partial ?? 0);
  return (
    <Card title="ATT&CK Enterprise coverage" actions={<Link to="/matrix" className="text-[12px] text-accent hover:underline">Open matrix</Link>}>
      {total === 0 ? (
        <Empty>No ATT&CK techniques yet. An admin imports them under System → Plugins & imports.</Empty>
      ) : (
        <>
          <div className="grid grid-cols-3 gap-3">
            <Stat label="Techniques" value={total.toLocaleString()} hint="current, with sub-techniques" />
            <Stat label="Tested" value={`${((tested / total) * 100).toFixed(1)}%`} hint={`${tested} of ${total}`} />
            <Stat label="Detected or prevented" value={`${((covered / total) * 100).toFixed(1)}%`} hint={`${covered} covered or partial`} />
          </div>
          <div className="mt-4 flex h-2.5 overflow-hidden rounded-full bg-panel-2" aria-hidden>
            {COVERAGE_ORDER.map((s) => (
              <div key={s} style={{ width: `${((counts[s] ?? 0) / total) * 100}%`, background: COVERAGE[s]!.color }} />
            ))}
          </div>
          <ul className="mt-3 flex flex-wrap gap-x-5 gap-y-1 text-[12px] text-muted">
            {COVERAGE_ORDER.map((s) => (
              <li key={s} className="flex items-center gap-1.5">
                <span className="size-2 rounded-sm" style={{ background: coverageOf(s).color }} />
                {coverageOf(s).label} <span className="font-medium text-fg tabular-nums">{counts[s]}</span>
              </li>
            ))}
          </ul>
        </>
      )}
    </Card>
  );
}

function StatesCard() {
  const q = useQuery({ queryKey: dashboardKeys.stateCounts(), queryFn: stateCounts });
  return (
    <Card title="Tests by state" actions={<Link to="/tests" className="text-[12px] text-accent hover:underline">All tests</Link>}>
      {q.isPending ? <Spinner /> : q.isError ? <ErrorNote error={q.error} /> : (
        <ul className="grid grid-cols-2 gap-2">
          {STATES.map((s) => (
            <li key={s}>
              <Link to={`/tests?state=${s}`} className="block rounded-md border border-line px-3 py-2 hover:bg-panel-2">
                <div className="truncate text-[12px] text-muted">{stateLabel(s)}</div>
                <div className="text-xl font-semibold tabular-nums">{q.data[s]}</div>
              </Link>
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}

function TrendCard() {
  const q = useQuery({
    queryKey: dashboardKeys.validated(),
    queryFn: () => ok(api.GET("/api/v1/tests", withQuery({ state: "validated", limit: 500 }))),
  });
  return (
    <Card title="Validated tests per week">
      {q.isPending ? <Spinner /> : q.isError ? <ErrorNote error={q.error} /> : (
        <Suspense fallback={<Spinner label="Drawing" />}>
          <TrendChart data={weeklyValidated(q.data.items)} />
        </Suspense>
      )}
    </Card>
  );
}

function MyWorkCard() {
  const q = useQuery({ queryKey: dashboardKeys.myWork(), queryFn: () => ok(api.GET("/api/v1/tests", withQuery({ assignee: "me", limit: 8 }))) });
  const open = q.data?.items.filter((t) => t.state !== "validated") ?? [];
  return (
    <Card title="My work">
      {q.isPending ? <Spinner /> : q.isError ? <ErrorNote error={q.error} /> : open.length === 0 ? (
        <Empty>Nothing assigned to you is waiting.</Empty>
      ) : (
        <ul className="-my-2 divide-y divide-line">
          {open.map((t) => (
            <li key={t.id}>
              <Link to={`/tests/${t.id}`} className="flex items-center justify-between gap-3 py-2 hover:text-accent">
                <span className="min-w-0 truncate text-[13px]">{t.title}</span>
                <Badge tone={stateTone(t.state)}>{stateLabel(t.state)}</Badge>
              </Link>
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}

function NotificationsCard() {
  const q = useQuery({ queryKey: dashboardKeys.notifications(), queryFn: () => ok(api.GET("/api/v1/notifications", withQuery({ limit: 6 }))) });
  return (
    <Card title="Notifications">
      {q.isPending ? <Spinner /> : q.isError ? <ErrorNote error={q.error} /> : q.data.items.length === 0 ? (
        <Empty>No notifications.</Empty>
      ) : (
        <ul className="-my-2 divide-y divide-line">
          {q.data.items.map((n) => (
            <li key={n.id} className="py-2">
              <div className="flex items-center gap-2 text-[13px]">
                {!n.read_at && <span className="size-1.5 shrink-0 rounded-full bg-accent" aria-label="unread" />}
                {n.entity_type === "test" ? <Link to={`/tests/${n.entity_id}`} className="truncate hover:text-accent">{n.title}</Link> : <span className="truncate">{n.title}</span>}
                <span className="ml-auto shrink-0 text-[11px] text-muted">{timeAgo(n.created_at)}</span>
              </div>
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}

/**
 * usePrefetchMatrix fetches the unfiltered matrix once the dashboard has settled, so the
 * sidebar's most used link opens without waiting for it (about 240 KB, kept 30 s).
 */
function usePrefetchMatrix() {
  const qc = useQueryClient();
  useEffect(() => {
    const run = () => void qc.prefetchQuery(matrixQuery(matrixFilters(new URLSearchParams())));
    if ("requestIdleCallback" in window) {
      const id = window.requestIdleCallback(run, { timeout: 3000 });
      return () => window.cancelIdleCallback(id);
    }
    const t = setTimeout(run, 1000);
    return () => clearTimeout(t);
  }, [qc]);
}

export function DashboardPage() {
  const { user } = useSession();
  usePrefetchMatrix();
  return (
    <div>
      <PageHeader title={`Welcome back, ${user.display_name || user.username}`} subtitle="Coverage, tests and what waits for you." />
      <div className="grid grid-cols-1 gap-4 xl:grid-cols-3">
        <div className="space-y-4 xl:col-span-2">
          <CoverageCard />
          <TrendCard />
        </div>
        <div className="space-y-4">
          <StatesCard />
          <MyWorkCard />
          <NotificationsCard />
        </div>
      </div>
    </div>
  );
}

// Routing: sign-in and the dashboard load with the app; every other page is its own
// chunk, fetched on first visit.
import { lazy, type ReactNode } from "react";
import { Navigate, Route, Routes, useLocation } from "react-router";
import type { QueryClient } from "@tanstack/react-query";
import type { Role } from "@/api/client";
import { matrixFilters, matrixQuery } from "@/api/matrix";
import { LoginPage } from "@/features/auth/LoginPage";
import { ChangePasswordPage } from "@/features/auth/ChangePasswordPage";
import { DashboardPage } from "@/features/dashboard/DashboardPage";
import { ErrorNote, Spinner } from "@/ui/primitives";
import { NAV } from "./nav";
import { SessionProvider, useSession, useSessionQuery } from "./session";
import { Shell } from "./Shell";

const ExecutivePage = lazy(() => import("@/features/executive/ExecutivePage"));
const loadMatrix = () => import("@/features/matrix/MatrixPage");
const MatrixPage = lazy(loadMatrix);
const TechniquePage = lazy(() => import("@/features/techniques/TechniquePage"));
const TestsPage = lazy(() => import("@/features/tests/TestsPage"));
const TestDetailPage = lazy(() => import("@/features/tests/TestDetailPage"));
const NewTestPage = lazy(() => import("@/features/tests/NewTestPage"));
const TemplatesPage = lazy(() => import("@/features/catalog/TemplatesPage"));
const RulesPage = lazy(() => import("@/features/catalog/RulesPage"));
const CampaignsPage = lazy(() => import("@/features/campaigns/CampaignsPage"));
const CampaignDetailPage = lazy(() => import("@/features/campaigns/CampaignDetailPage"));
const ActorsPage = lazy(() => import("@/features/actors/ActorsPage"));
const CompliancePage = lazy(() => import("@/features/compliance/CompliancePage"));
const ComparisonPage = lazy(() => import("@/features/snapshots/ComparisonPage"));
const ReportsPage = lazy(() => import("@/features/reports/ReportsPage"));
const UsersPage = lazy(() => import("@/features/admin/UsersPage"));
const ImportsPage = lazy(() => import("@/features/admin/ImportsPage"));
const ReviewsPage = lazy(() => import("@/features/admin/ReviewsPage"));
const AuditPage = lazy(() => import("@/features/admin/AuditPage"));
const TokensPage = lazy(() => import("@/features/admin/TokensPage"));
const ScoringPage = lazy(() => import("@/features/admin/ScoringPage"));
const JobsPage = lazy(() => import("@/features/admin/JobsPage"));

/**
 * preloadRoute starts, on a cold load of a heavy page, its code and its data while the
 * session is being checked, instead of one after the other.
 */
export function preloadRoute(qc: QueryClient, path: string, search: string) {
  if (path === "/matrix") {
    void loadMatrix();
    void qc.prefetchQuery(matrixQuery(matrixFilters(new URLSearchParams(search))));
  }
}

/** Allowed keeps a page to the roles its sidebar section lists. */
function Allowed({ section, children }: { section: string; children: ReactNode }) {
  const { role } = useSession();
  const s = NAV.find((n) => n.id === section);
  if (s && s.roles !== "all" && !s.roles.includes(role as Role)) {
    return <ErrorNote error={new Error(`This page is not available to the ${role} role.`)} />;
  }
  return <>{children}</>;
}

function SignedIn() {
  const { user } = useSession();
  if (user.must_change_password) return <ChangePasswordPage forced />;
  return (
    <Shell>
      <Routes>
        <Route path="/" element={<DashboardPage />} />
        <Route path="/executive" element={<Allowed section="executive"><ExecutivePage /></Allowed>} />
        <Route path="/matrix" element={<MatrixPage />} />
        <Route path="/techniques/:id" element={<TechniquePage />} />
        <Route path="/tests" element={<TestsPage />} />
        <Route path="/tests/new" element={<NewTestPage />} />
        <Route path="/tests/:id" element={<TestDetailPage />} />
        <Route path="/catalog/templates" element={<TemplatesPage />} />
        <Route path="/catalog/rules" element={<RulesPage />} />
        <Route path="/campaigns" element={<CampaignsPage />} />
        <Route path="/campaigns/:id" element={<CampaignDetailPage />} />
        <Route path="/actors" element={<ActorsPage />} />
        <Route path="/compliance" element={<CompliancePage />} />
        <Route path="/comparison" element={<Allowed section="comparison"><ComparisonPage /></Allowed>} />
        <Route path="/reports" element={<ReportsPage />} />
        <Route path="/system/users" element={<Allowed section="system"><UsersPage /></Allowed>} />
        <Route path="/system/imports" element={<Allowed section="system"><ImportsPage /></Allowed>} />
        <Route path="/system/reviews" element={<Allowed section="system"><ReviewsPage /></Allowed>} />
        <Route path="/system/audit" element={<Allowed section="system"><AuditPage /></Allowed>} />
        <Route path="/system/scoring" element={<Allowed section="system"><ScoringPage /></Allowed>} />
        <Route path="/system/jobs" element={<Allowed section="system"><JobsPage /></Allowed>} />
        <Route path="/account/tokens" element={<TokensPage />} />
        <Route path="/account/password" element={<ChangePasswordPage />} />
        <Route path="/login" element={<Navigate to="/" replace />} />
        <Route path="*" element={<ErrorNote error={new Error("No page here. Pick one from the sidebar.")} />} />
      </Routes>
    </Shell>
  );
}

export function App() {
  const q = useSessionQuery();
  const loc = useLocation();
  if (q.isPending) return <Spinner label="Starting Aegis" />;
  if (q.isError) return <div className="p-8"><ErrorNote error={q.error} /></div>;
  if (!q.data?.user) {
    if (loc.pathname !== "/login") return <Navigate to="/login" replace state={{ from: loc.pathname + loc.search }} />;
    return <LoginPage />;
  }
  return (
    <SessionProvider session={q.data}>
      <SignedIn />
    </SessionProvider>
  );
}

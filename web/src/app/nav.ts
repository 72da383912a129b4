// The sidebar, exactly as the role table of the original design says (Navigation
// section of the seed document): each section lists the roles that see it.
import {
  Activity, BookOpen, ClipboardList, FileBarChart, GitCompare, Grid3x3, LayoutDashboard, type LucideIcon,
  Radar, Scale, Settings, ShieldCheck, SlidersHorizontal, Swords, Target, Timer,
} from "lucide-react";
import type { Role } from "@/api/client";

export type NavItem = { label: string; to: string; icon: LucideIcon; end?: boolean };
export type NavSection = { id: string; label: string; icon: LucideIcon; roles: Role[] | "all"; to?: string; items?: NavItem[] };

const LEADS: Role[] = ["admin", "red_lead", "blue_lead"];

export const NAV: NavSection[] = [
  { id: "dashboard", label: "Dashboard", icon: LayoutDashboard, roles: "all", to: "/" },
  { id: "executive", label: "Executive Dashboard", icon: Activity, roles: LEADS, to: "/executive" },
  { id: "matrix", label: "ATT&CK Matrix", icon: Grid3x3, roles: "all", to: "/matrix" },
  {
    id: "tests",
    label: "Tests",
    icon: ClipboardList,
    roles: "all",
    items: [
      { label: "All tests", to: "/tests", icon: ClipboardList, end: true },
      { label: "Test templates", to: "/catalog/templates", icon: BookOpen },
      { label: "Detection rules", to: "/catalog/rules", icon: Radar },
    ],
  },
  { id: "campaigns", label: "Campaigns", icon: Target, roles: "all", to: "/campaigns" },
  { id: "actors", label: "Threat Actors", icon: Swords, roles: "all", to: "/actors" },
  { id: "compliance", label: "Compliance", icon: Scale, roles: "all", to: "/compliance" },
  { id: "comparison", label: "Comparison", icon: GitCompare, roles: LEADS, to: "/comparison" },
  { id: "reports", label: "Reports", icon: FileBarChart, roles: "all", to: "/reports" },
  {
    id: "system",
    label: "System",
    icon: Settings,
    roles: ["admin"],
    items: [
      { label: "Users", to: "/system/users", icon: ShieldCheck },
      { label: "Plugins & imports", to: "/system/imports", icon: Settings },
      { label: "ATT&CK review queue", to: "/system/reviews", icon: GitCompare },
      { label: "Audit log", to: "/system/audit", icon: FileBarChart },
      { label: "Scoring weights", to: "/system/scoring", icon: SlidersHorizontal },
      { label: "Jobs", to: "/system/jobs", icon: Timer },
    ],
  },
];

/** navFor is the sidebar a role sees. */
export function navFor(role: Role): NavSection[] {
  return NAV.filter((s) => s.roles === "all" || s.roles.includes(role));
}

// The signed-in frame: the role's sidebar, the top bar (notifications, theme, account)
// and the page.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Bell, ChevronDown, KeyRound, LogOut, Moon, Shield, Sun, UserRound } from "lucide-react";
import { Suspense, useEffect, useRef, useState, type ReactNode } from "react";
import { Link, NavLink, useLocation, useNavigate } from "react-router";
import { api, ok, withQuery } from "@/api/client";
import { roleLabel, timeAgo } from "@/lib/format";
import { cx, Spinner } from "@/ui/primitives";
import { navFor } from "./nav";
import { useSession, useSetSession } from "./session";
import { useTheme } from "./theme";

export const notificationKeys = { all: ["notifications"] as const, list: (unread: boolean) => ["notifications", { unread }] as const };

function Sidebar() {
  const { role } = useSession();
  const loc = useLocation();
  const link = "flex h-8 items-center gap-2.5 rounded-md px-2.5 text-[13px] transition-colors";
  const active = "bg-accent/12 text-fg font-medium";
  const idle = "text-muted hover:bg-panel-2 hover:text-fg";
  return (
    <nav aria-label="Main" className="flex w-56 shrink-0 flex-col border-r border-line bg-panel">
      <Link to="/" className="flex h-13 items-center gap-2 border-b border-line px-4 font-semibold tracking-tight">
        <Shield className="size-5 text-accent" aria-hidden />
        Aegis
      </Link>
      <ul className="flex-1 space-y-0.5 overflow-y-auto p-2">
        {navFor(role).map((s) =>
          s.items ? (
            <li key={s.id} className="pt-3">
              <div className="px-2.5 pb-1 text-[11px] font-semibold tracking-wider text-muted uppercase">{s.label}</div>
              <ul className="space-y-0.5">
                {s.items.map((it) => (
                  <li key={it.to}>
                    <NavLink to={it.to} end={it.end} className={({ isActive }) => cx(link, isActive ? active : idle)}>
                      <it.icon className="size-4" aria-hidden />
                      {it.label}
                    </NavLink>
                  </li>
                ))}
              </ul>
            </li>
          ) : (
            <li key={s.id}>
              <NavLink
                to={s.to!}
                end={s.to === "/"}
                className={({ isActive }) => cx(link, isActive || (s.to === "/matrix" && loc.pathname.startsWith("/techniques")) ? active : idle)}
              >
                <s.icon className="size-4" aria-hidden />
                {s.label}
              </NavLink>
            </li>
          ),
        )}
      </ul>
    </nav>
  );
}

function Popover({ button, label, children }: { button: ReactNode; label: string; children: (close: () => void) => ReactNode }) {
  const [open, setOpen] = useState(false);
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    const onDoc = (e: MouseEvent) => ref.current && !ref.current.contains(e.target as Node) && setOpen(false);
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && setOpen(false);
    document.addEventListener("mousedown", onDoc);
    document.addEventListener("keydown", onKey);
    return () => {
      document.removeEventListener("mousedown", onDoc);
      document.removeEventListener("keydown", onKey);
    };
  }, [open]);
  return (
    <div ref={ref} className="relative">
      <button
        type="button"
        aria-label={label}
        aria-expanded={open}
        onClick={() => setOpen((o) => !o)}
        className="flex h-8 items-center gap-1.5 rounded-md px-2 text-[13px] text-muted hover:bg-panel-2 hover:text-fg"
      >
        {button}
      </button>
      {open && (
        <div className="absolute right-0 z-30 mt-1 w-80 overflow-hidden rounded-lg border border-line bg-panel shadow-xl shadow-black/20">
          {children(() => setOpen(false))}
        </div>
      )}
    </div>
  );
}

function Notifications() {
  const qc = useQueryClient();
  const nav = useNavigate();
  const q = useQuery({
    queryKey: notificationKeys.list(false),
    queryFn: () => ok(api.GET("/api/v1/notifications", withQuery({ limit: 20 }))),
    refetchInterval: 30_000,
  });
  const unread = q.data?.items.filter((n) => !n.read_at).length ?? 0;
  const readAll = useMutation({
    mutationFn: () => ok(api.POST("/api/v1/notifications/read-all")),
    onSuccess: () => qc.invalidateQueries({ queryKey: notificationKeys.all }),
  });
  const readOne = useMutation({
    mutationFn: (id: string) => ok(api.POST("/api/v1/notifications/{id}/read", { params: { path: { id } } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: notificationKeys.all }),
  });
  return (
    <Popover
      label={`Notifications${unread ? ` (${unread} unread)` : ""}`}
      button={
        <span className="relative">
          <Bell className="size-4" aria-hidden />
          {unread > 0 && <span className="absolute -top-1.5 -right-1.5 rounded-full bg-red-600 px-1 text-[10px] leading-4 font-semibold text-white">{unread}</span>}
        </span>
      }
    >
      {(close) => (
        <div>
          <div className="flex items-center justify-between border-b border-line px-3 py-2 text-[13px] font-semibold">
            Notifications
            <button className="text-[12px] font-normal text-accent hover:underline disabled:opacity-50" disabled={!unread} onClick={() => readAll.mutate()}>
              Mark all read
            </button>
          </div>
          <ul className="max-h-96 overflow-y-auto">
            {q.data?.items.length === 0 && <li className="px-3 py-6 text-center text-[13px] text-muted">Nothing new.</li>}
            {q.data?.items.map((n) => (
              <li key={n.id}>
                <button
                  className="block w-full border-b border-line/60 px-3 py-2 text-left hover:bg-panel-2"
                  onClick={() => {
                    if (!n.read_at) readOne.mutate(n.id);
                    if (n.entity_type === "test") nav(`/tests/${n.entity_id}`);
                    close();
                  }}
                >
                  <div className="flex items-center gap-2 text-[13px]">
                    {!n.read_at && <span className="size-1.5 rounded-full bg-accent" aria-label="unread" />}
                    <span className="truncate font-medium">{n.title}</span>
                  </div>
                  {n.body && <div className="mt-0.5 line-clamp-2 text-[12px] text-muted">{n.body}</div>}
                  <div className="mt-0.5 text-[11px] text-muted">{timeAgo(n.created_at)}</div>
                </button>
              </li>
            ))}
          </ul>
        </div>
      )}
    </Popover>
  );
}

function Account() {
  const { user } = useSession();
  const setSession = useSetSession();
  const qc = useQueryClient();
  const nav = useNavigate();
  const logout = useMutation({
    mutationFn: () => ok(api.POST("/api/v1/auth/logout")),
    onSettled: () => {
      qc.clear();
      setSession(null);
      nav("/login");
    },
  });
  const item = "flex w-full items-center gap-2 px-3 py-2 text-left text-[13px] hover:bg-panel-2";
  return (
    <Popover
      label="Account"
      button={
        <>
          <UserRound className="size-4" aria-hidden />
          <span className="text-fg">{user.display_name || user.username}</span>
          <span className="text-[12px]">· {roleLabel(user.role)}</span>
          <ChevronDown className="size-3.5" aria-hidden />
        </>
      }
    >
      {(close) => (
        <div className="py-1">
          <Link to="/account/tokens" onClick={close} className={item}>
            <KeyRound className="size-4" aria-hidden /> API tokens
          </Link>
          <Link to="/account/password" onClick={close} className={item}>
            <Shield className="size-4" aria-hidden /> Change password
          </Link>
          <button onClick={() => logout.mutate()} className={item}>
            <LogOut className="size-4" aria-hidden /> Sign out
          </button>
        </div>
      )}
    </Popover>
  );
}

export function Shell({ children }: { children: ReactNode }) {
  const [theme, toggle] = useTheme();
  return (
    <div className="flex h-full">
      <Sidebar />
      <div className="flex min-w-0 flex-1 flex-col">
        <header className="flex h-13 shrink-0 items-center justify-end gap-1 border-b border-line bg-panel px-4">
          <Notifications />
          <button
            type="button"
            onClick={toggle}
            aria-label={theme === "dark" ? "Switch to light theme" : "Switch to dark theme"}
            className="flex size-8 items-center justify-center rounded-md text-muted hover:bg-panel-2 hover:text-fg"
          >
            {theme === "dark" ? <Sun className="size-4" aria-hidden /> : <Moon className="size-4" aria-hidden />}
          </button>
          <Account />
        </header>
        <main id="main" className="min-h-0 flex-1 overflow-y-auto">
          <div className="mx-auto max-w-[1600px] p-6">
            <Suspense fallback={<Spinner />}>{children}</Suspense>
          </div>
        </main>
      </div>
    </div>
  );
}

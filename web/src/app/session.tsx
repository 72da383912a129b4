// The signed-in session, shared by the shell and every page: who is signed in, their
// role, and whether they must change their password before anything else.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { createContext, useContext, type ReactNode } from "react";
import { api, ok, ProblemError, setCSRF, type Role, type Session, type User } from "@/api/client";

export const sessionKeys = { me: ["session", "me"] as const };

async function fetchMe(): Promise<Session | null> {
  try {
    const s = await ok(api.GET("/api/v1/auth/me"));
    setCSRF(s.csrf_token);
    return s;
  } catch (e) {
    if (e instanceof ProblemError && e.status === 401) return null;
    throw e;
  }
}

type Ctx = { user: User; role: Role; session: Session };
const SessionContext = createContext<Ctx | null>(null);

export function useSessionQuery() {
  return useQuery({ queryKey: sessionKeys.me, queryFn: fetchMe, staleTime: 60_000, retry: false });
}

/** useSetSession stores the answer of sign-in or password change as the session. */
export function useSetSession() {
  const qc = useQueryClient();
  return (s: Session | null) => {
    setCSRF(s?.csrf_token);
    qc.setQueryData(sessionKeys.me, s);
  };
}

export function SessionProvider({ session, children }: { session: Session; children: ReactNode }) {
  const user = session.user!;
  return <SessionContext.Provider value={{ user, role: user.role as Role, session }}>{children}</SessionContext.Provider>;
}

export function useSession(): Ctx {
  const s = useContext(SessionContext);
  if (!s) throw new Error("useSession outside a signed-in page");
  return s;
}

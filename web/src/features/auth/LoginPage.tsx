import { useMutation } from "@tanstack/react-query";
import { Shield } from "lucide-react";
import { useState, type FormEvent } from "react";
import { useLocation, useNavigate } from "react-router";
import { api, ok } from "@/api/client";
import { useSetSession } from "@/app/session";
import { Button, ErrorNote, Field, Input } from "@/ui/primitives";

export function AuthFrame({ title, subtitle, children }: { title: string; subtitle: string; children: React.ReactNode }) {
  return (
    <div className="flex min-h-full items-center justify-center bg-bg p-6">
      <div className="w-full max-w-sm">
        <div className="mb-6 flex items-center gap-2 text-lg font-semibold tracking-tight">
          <Shield className="size-6 text-accent" aria-hidden /> Aegis
        </div>
        <div className="rounded-xl border border-line bg-panel p-6 shadow-sm">
          <h1 className="text-lg font-semibold tracking-tight">{title}</h1>
          <p className="mt-1 mb-5 text-[13px] text-muted">{subtitle}</p>
          {children}
        </div>
      </div>
    </div>
  );
}

export function LoginPage() {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const setSession = useSetSession();
  const nav = useNavigate();
  const loc = useLocation();
  const login = useMutation({
    mutationFn: () => ok(api.POST("/api/v1/auth/login", { body: { username, password } })),
    onSuccess: (s) => {
      setSession(s);
      const from = (loc.state as { from?: string } | null)?.from;
      nav(from && from !== "/login" ? from : "/", { replace: true });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    login.mutate();
  };
  return (
    <AuthFrame title="Sign in" subtitle="Purple-team coverage of MITRE ATT&CK.">
      <form onSubmit={submit} className="space-y-4">
        <Field label="Username">
          <Input name="username" autoComplete="username" autoFocus required value={username} onChange={(e) => setUsername(e.target.value)} />
        </Field>
        <Field label="Password">
          <Input name="password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        </Field>
        <ErrorNote error={login.error} />
        <Button type="submit" variant="primary" busy={login.isPending} className="w-full">
          Sign in
        </Button>
      </form>
    </AuthFrame>
  );
}

import { useMutation } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api, ok } from "@/api/client";
import { useSession, useSetSession } from "@/app/session";
import { Button, Card, ErrorNote, Field, Input, PageHeader } from "@/ui/primitives";
import { AuthFrame } from "./LoginPage";

/** ChangePasswordPage: forced after an administrator set the password, or by choice. */
export function ChangePasswordPage({ forced = false }: { forced?: boolean }) {
  const { user } = useSession();
  const setSession = useSetSession();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [again, setAgain] = useState("");
  const [done, setDone] = useState(false);
  const change = useMutation({
    mutationFn: async () => {
      if (next !== again) throw new Error("The two new passwords differ.");
      return ok(api.POST("/api/v1/auth/password", { body: { current_password: current, new_password: next } }));
    },
    onSuccess: (s) => {
      setDone(true);
      setCurrent("");
      setNext("");
      setAgain("");
      setSession(s);
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    change.mutate();
  };
  const form = (
    <form onSubmit={submit} className="space-y-4">
      <Field label="Current password">
        <Input type="password" name="current_password" autoComplete="current-password" required value={current} onChange={(e) => setCurrent(e.target.value)} />
      </Field>
      <Field label="New password" hint="At least 12 characters.">
        <Input type="password" name="new_password" autoComplete="new-password" required value={next} onChange={(e) => setNext(e.target.value)} />
      </Field>
      <Field label="New password again">
        <Input type="password" name="new_password_again" autoComplete="new-password" required value={again} onChange={(e) => setAgain(e.target.value)} />
      </Field>
      <ErrorNote error={change.error} />
      {done && !forced && <p role="status" className="text-[13px] text-emerald-600 dark:text-emerald-400">Password changed. Your other sessions were signed out.</p>}
      <Button type="submit" variant="primary" busy={change.isPending} className={forced ? "w-full" : ""}>
        Change password
      </Button>
    </form>
  );
  if (forced) {
    return (
      <AuthFrame title="Choose a new password" subtitle={`An administrator set the password of ${user.username}. Choose your own to continue.`}>
        {form}
      </AuthFrame>
    );
  }
  return (
    <div className="max-w-md">
      <PageHeader title="Change password" subtitle="Changing it signs out your other sessions." />
      <Card>{form}</Card>
    </div>
  );
}

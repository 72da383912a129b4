import { api, ok, withQuery } from "@/api/client";

export type TestFilters = { state?: string; technique?: string; assignee?: string; offset?: number };

export const testKeys = {
  all: ["tests"] as const,
  list: (f: TestFilters) => ["tests", "list", f] as const,
  detail: (id: string) => ["tests", "detail", id] as const,
  evidence: (id: string) => ["tests", "detail", id, "evidence"] as const,
  detections: (id: string) => ["tests", "detail", id, "detections"] as const,
  worklogs: (id: string) => ["tests", "detail", id, "worklogs"] as const,
  votes: (id: string) => ["tests", "detail", id, "votes"] as const,
  retests: (id: string) => ["tests", "detail", id, "retests"] as const,
  history: (id: string) => ["tests", "detail", id, "history"] as const,
  rules: (technique: string) => ["tests", "rules", technique] as const,
  users: () => ["tests", "users"] as const,
};

export const PAGE = 50;

export const listTests = (f: TestFilters) =>
  ok(api.GET("/api/v1/tests", withQuery({ state: f.state, technique: f.technique, assignee: f.assignee, offset: f.offset, limit: PAGE })));

export const getTest = (id: string) => ok(api.GET("/api/v1/tests/{id}", { params: { path: { id } } }));

/** Which parts of a test the role may edit in its state (the server checks again). */
export function editable(role: string, state: string) {
  const red = role === "red_tech" || role === "red_lead" || role === "admin";
  const blue = role === "blue_tech" || role === "blue_lead" || role === "admin";
  return {
    plan: red && (state === "draft" || state === "red_executing"),
    red: red && state === "red_executing",
    blue: blue && state === "blue_evaluating",
    detections: (blue && state === "blue_evaluating") || role === "admin",
    assign: role === "red_lead" || role === "blue_lead" || role === "admin",
    remediation: state === "validated" && (role === "red_lead" || role === "blue_lead" || role === "admin"),
  };
}

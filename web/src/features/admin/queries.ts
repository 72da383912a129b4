export const adminKeys = {
  users: ["admin", "users"] as const,
  tokens: ["admin", "tokens"] as const,
  plugins: ["admin", "plugins"] as const,
  runs: ["admin", "imports", "list"] as const,
  run: (id: string) => ["admin", "import-run", id] as const,
  reviews: (status: string) => ["admin", "reviews", status] as const,
  audit: (f: object) => ["admin", "audit", f] as const,
  weights: ["admin", "scoring", "weights"] as const,
  weightsHistory: ["admin", "scoring", "history"] as const,
  jobs: (f: object) => ["admin", "jobs", f] as const,
};

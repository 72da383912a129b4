import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { TacticRow } from "./model";

export default function TacticChart({ rows }: { rows: TacticRow[] }) {
  const data = rows.map((r) => ({
    tactic: r.tactic,
    Covered: r.covered,
    Partial: r.partial,
    "Tested, not covered": r.tested - r.covered - r.partial,
    "Not tested": r.techniques - r.tested,
  }));
  return (
    <ResponsiveContainer width="100%" height={420}>
      <BarChart data={data} layout="vertical" margin={{ left: 40, right: 16 }}>
        <CartesianGrid stroke="var(--line)" horizontal={false} />
        <XAxis type="number" tick={{ fill: "var(--muted)", fontSize: 11 }} axisLine={false} tickLine={false} />
        <YAxis type="category" dataKey="tactic" width={130} tick={{ fill: "var(--fg)", fontSize: 12 }} axisLine={false} tickLine={false} />
        <Tooltip cursor={{ fill: "var(--panel-2)" }} contentStyle={{ background: "var(--panel)", border: "1px solid var(--line)", borderRadius: 6, fontSize: 12 }} />
        {/* The swatch carries the series colour; the label stays in the text colour (AA contrast in both themes). */}
        <Legend wrapperStyle={{ fontSize: 12 }} formatter={(value) => <span className="text-fg">{value}</span>} />
        <Bar dataKey="Covered" stackId="a" fill="#10b981" isAnimationActive={false} />
        <Bar dataKey="Partial" stackId="a" fill="#f59e0b" isAnimationActive={false} />
        <Bar dataKey="Tested, not covered" stackId="a" fill="#ef4444" isAnimationActive={false} />
        <Bar dataKey="Not tested" stackId="a" fill="#64748b" isAnimationActive={false} radius={[0, 3, 3, 0]} />
      </BarChart>
    </ResponsiveContainer>
  );
}

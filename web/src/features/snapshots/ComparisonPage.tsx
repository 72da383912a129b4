import { NotOffered } from "@/ui/NotOffered";

export default function Page() {
  return <NotOffered title="Comparison" what="coverage snapshots to compare" routes={["GET /api/v1/snapshots"]} />;
}

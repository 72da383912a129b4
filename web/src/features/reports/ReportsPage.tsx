import { NotOffered } from "@/ui/NotOffered";

export default function Page() {
  return <NotOffered title="Reports" what="reports and exports" routes={["GET /api/v1/exports"]} />;
}

import { NotOffered } from "@/ui/NotOffered";

export default function Page() {
  return <NotOffered title="Compliance" what="compliance frameworks and controls" routes={["GET /api/v1/compliance/frameworks"]} />;
}

import { NotOffered } from "@/ui/NotOffered";

export default function Page() {
  return <NotOffered title="Campaigns" what="campaigns" routes={["GET /api/v1/campaigns"]} />;
}

import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter } from "react-router";
import { ProblemError } from "@/api/client";
import { App, preloadRoute } from "@/app/App";
import { applyTheme, initialTheme } from "@/app/theme";
import "./index.css";

applyTheme(initialTheme());

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 15_000,
      refetchOnWindowFocus: false,
      // A problem document is the server's answer, not a blip: retry only network errors.
      retry: (n, e) => n < 2 && e instanceof ProblemError && e.status === 0,
    },
  },
});

preloadRoute(queryClient, location.pathname, location.search);

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <BrowserRouter>
        <App />
      </BrowserRouter>
    </QueryClientProvider>
  </StrictMode>,
);

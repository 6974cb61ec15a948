import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { createConnectTransport } from "@connectrpc/connect-web";
import { createApi } from "./api";
import { App } from "./App";
import "./style.css";

// The page is served by the feedback server itself, on the port that also speaks the Connect
// protocol: the API is on the page's own origin (no CORS needed).
const transport = createConnectTransport({ baseUrl: window.location.origin });

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <App api={createApi(transport)} />
  </StrictMode>,
);

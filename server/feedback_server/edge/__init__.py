"""The edge: what every RPC passes through on its way in and out (request id, auth,
deadline, domain error -> status, metrics)."""

package feedbackclient

import _ "embed" // ServiceConfig

// ServiceConfig is the gRPC service config every client of the feedback
// service ships (the same in every language: clients/service_config.json).
// New applies it unless an option of the caller sets another one
// (grpc.WithDefaultServiceConfig):
//
//   - writes are retried on UNAVAILABLE (up to 5 attempts, 0.2 s doubling to
//     5 s, with gRPC's retry throttling): safe because every write carries a
//     request_id, so a retry of a write that did land is answered with the
//     same result and stores nothing twice; reads are retried too, chat turns
//     are not (a retry would be a second turn);
//   - round_robin over every address the name resolves to: with a dns:///
//     target naming all replicas (a headless Kubernetes Service), calls
//     spread over them, and a replica that goes away is left for the others.
//
//go:embed service_config.json
var ServiceConfig string

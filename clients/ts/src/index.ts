// The feedback service's TypeScript client: the promise-based FeedbackClient,
// error helpers, and every generated message, enum and service client.
export * from "./client";
export * from "./errors";
export * from "./serviceConfig";
export * from "./gen/feedback/v1/chat_service";
export * from "./gen/feedback/v1/common";
export * from "./gen/feedback/v1/feedback_service";
// Declared by every generated file, so re-exported explicitly once.
export { type DeepPartial, type Exact, type MessageFns, protobufPackage } from "./gen/feedback/v1/common";
// Differs per generated file: import it from "./gen/feedback/v1/<file>" instead.
export const protobufFileName: undefined = undefined;

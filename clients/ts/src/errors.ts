// gRPC errors of the feedback service: status codes and the google.rpc.BadRequest
// details it attaches to INVALID_ARGUMENT (AIP-193), read from the standard
// `grpc-status-details-bin` trailer. google.rpc.Status and BadRequest are
// tiny and stable, so they are decoded here instead of pulling googleapis in.
import { BinaryReader } from "@bufbuild/protobuf/wire";
import { type Metadata, type ServiceError, status } from "@grpc/grpc-js";

/** One offending field of a request, as named by the service. */
export interface FieldViolation {
  /** The field's path, such as `target.trace_id` or `ratings[accuracy]`. */
  field: string;
  /** Why the value is invalid. */
  description: string;
  /** A machine-readable reason, when the service sets one. */
  reason: string;
}

/** A decoded google.rpc.Status detail (a google.protobuf.Any). */
export interface StatusDetail {
  typeUrl: string;
  value: Uint8Array;
}

const BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest";

/** True when `err` is an error of a gRPC call (it has a numeric `code`). */
export function isServiceError(err: unknown): err is ServiceError {
  return typeof err === "object" && err !== null && typeof (err as ServiceError).code === "number";
}

/** The canonical name of a gRPC status code, such as `INVALID_ARGUMENT`. */
export function codeName(code: number): string {
  if (code === status.CANCELLED) return "CANCELLED";
  return status[code] ?? `CODE_${code}`;
}

/** The details of the rich status in `metadata` (usually a call's trailers). */
export function statusDetails(metadata: Metadata | undefined): StatusDetail[] {
  const raw = metadata?.get("grpc-status-details-bin") ?? [];
  const out: StatusDetail[] = [];
  for (const value of raw) {
    if (typeof value === "string") continue;
    const reader = new BinaryReader(value);
    while (reader.pos < reader.len) {
      const [field, wireType] = reader.tag();
      if (field === 3) out.push(decodeAny(reader.bytes()));
      else reader.skip(wireType);
    }
  }
  return out;
}

/** The google.rpc.BadRequest field violations of a failed call, or `[]`. */
export function fieldViolations(err: unknown): FieldViolation[] {
  if (!isServiceError(err)) return [];
  const out: FieldViolation[] = [];
  for (const detail of statusDetails(err.metadata)) {
    if (detail.typeUrl !== BAD_REQUEST_TYPE) continue;
    const reader = new BinaryReader(detail.value);
    while (reader.pos < reader.len) {
      const [field, wireType] = reader.tag();
      if (field === 1) out.push(decodeFieldViolation(reader.bytes()));
      else reader.skip(wireType);
    }
  }
  return out;
}

/** Renders an error as `CODE: message [field: description; ...]`. */
export function describe(err: unknown): string {
  if (!isServiceError(err)) return err instanceof Error ? err.message : String(err);
  let s = `${codeName(err.code)}: ${err.details}`;
  const violations = fieldViolations(err);
  if (violations.length > 0) {
    s += ` [${violations.map((v) => `${v.field}: ${v.description}`).join("; ")}]`;
  }
  return s;
}

function decodeAny(bytes: Uint8Array): StatusDetail {
  const reader = new BinaryReader(bytes);
  const any: StatusDetail = { typeUrl: "", value: new Uint8Array() };
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1) any.typeUrl = reader.string();
    else if (field === 2) any.value = reader.bytes();
    else reader.skip(wireType);
  }
  return any;
}

function decodeFieldViolation(bytes: Uint8Array): FieldViolation {
  const reader = new BinaryReader(bytes);
  const violation: FieldViolation = { field: "", description: "", reason: "" };
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1) violation.field = reader.string();
    else if (field === 2) violation.description = reader.string();
    else if (field === 3) violation.reason = reader.string();
    else reader.skip(wireType);
  }
  return violation;
}

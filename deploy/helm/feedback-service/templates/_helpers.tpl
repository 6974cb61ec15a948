{{/* Names, labels and the values computed from several others. */}}

{{- define "feedback-service.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "feedback-service.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* The headless Service: one DNS record per replica; the StatefulSet's serviceName. */}}
{{- define "feedback-service.headlessName" -}}
{{- printf "%s-headless" (include "feedback-service.fullname" . | trunc 54 | trimSuffix "-") }}
{{- end }}

{{/* The client Service's name inside the cluster (the mesh objects' host). */}}
{{- define "feedback-service.host" -}}
{{- printf "%s.%s.svc.%s" (include "feedback-service.fullname" .) .Release.Namespace .Values.clusterDomain }}
{{- end }}

{{- define "feedback-service.selectorLabels" -}}
app.kubernetes.io/name: {{ include "feedback-service.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "feedback-service.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "feedback-service.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: server
app.kubernetes.io/part-of: feedback-service
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "feedback-service.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "feedback-service.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "feedback-service.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/*
How long a replica may take to stop after SIGTERM: the drain delay (health NOT_SERVING while
the server keeps serving, so the mesh stops routing), the grace for calls in flight, the
flush of trace exports and spool writes, and a margin for the process to exit.
*/}}
{{- define "feedback-service.shutdownSeconds" -}}
{{- $s := .Values.shutdown }}
{{- /* The server bounds its flush by 2 x the grace: never count less than that. */}}
{{- add $s.delaySeconds $s.graceSeconds (max $s.exportFlushSeconds (mul 2 $s.graceSeconds)) }}
{{- end }}

{{- define "feedback-service.terminationGracePeriodSeconds" -}}
{{- add (include "feedback-service.shutdownSeconds" . | int) .Values.shutdown.marginSeconds }}
{{- end }}

{{/* A Kubernetes quantity (2Gi, 500M, 1073741824) in bytes. */}}
{{- define "feedback-service.bytes" -}}
{{- $q := toString . }}
{{- $units := dict "Ki" 1024 "Mi" 1048576 "Gi" 1073741824 "Ti" 1099511627776 "k" 1000 "M" 1000000 "G" 1000000000 "T" 1000000000000 }}
{{- $unit := regexFind "(Ki|Mi|Gi|Ti|k|M|G|T)$" $q }}
{{- $number := trimSuffix $unit $q }}
{{- if not (regexMatch "^[0-9]+$" $number) }}
{{- fail (printf "persistence.size %q: write it as a whole number with an optional Ki, Mi, Gi, Ti, k, M, G or T" $q) }}
{{- end }}
{{- if $unit }}{{ mul (atoi $number) (get $units $unit) }}{{ else }}{{ atoi $number }}{{ end }}
{{- end }}

{{/* FEEDBACK_SPOOL_MAX_BYTES: spool.maxBytes, or 80% of the volume. */}}
{{- define "feedback-service.spoolMaxBytes" -}}
{{- $volume := include "feedback-service.bytes" .Values.persistence.size | int64 }}
{{- $max := int64 .Values.spool.maxBytes }}
{{- if eq $max 0 }}
{{- div (mul $volume 4) 5 }}
{{- else if ge $max $volume }}
{{- fail (printf "spool.maxBytes (%d) must be below persistence.size (%s = %d bytes): SQLite needs room beside the spool to checkpoint its WAL" $max .Values.persistence.size $volume) }}
{{- else }}
{{- $max }}
{{- end }}
{{- end }}

{{/* The names of the Secrets, given or made by the chart. */}}
{{- define "feedback-service.authSecretName" -}}
{{- default (printf "%s-auth" (include "feedback-service.fullname" .)) .Values.auth.existingSecret }}
{{- end }}

{{- define "feedback-service.tokenSecretName" -}}
{{- default (printf "%s-feedback-tokens" (include "feedback-service.fullname" .)) .Values.feedbackTokens.existingSecret }}
{{- end }}

{{- define "feedback-service.tlsSecretName" -}}
{{- default (printf "%s-tls" (include "feedback-service.fullname" .)) .Values.tls.existingSecret }}
{{- end }}

{{- define "feedback-service.clientCASecretName" -}}
{{- default (include "feedback-service.tlsSecretName" .) .Values.tls.clientAuth.existingSecret }}
{{- end }}

{{/* Whether the TLS Secret holds the issuer's certificate as ca.crt (cert-manager's do). */}}
{{- define "feedback-service.tlsHasCA" -}}
{{- if or .Values.tls.existingSecret .Values.tls.caCertificate }}true{{ end }}
{{- end }}

{{- define "feedback-service.openaiSecretName" -}}
{{- default (printf "%s-openai" (include "feedback-service.fullname" .)) .Values.chat.openai.apiKey.existingSecret }}
{{- end }}

{{/*
A chart-made secret value: the one given in the values, else the one already in the cluster
(kept across upgrades), else a new random one. Arguments: (list $ secretName key given).
*/}}
{{- define "feedback-service.secretValue" -}}
{{- $ctx := index . 0 }}{{ $name := index . 1 }}{{ $key := index . 2 }}{{ $given := index . 3 }}
{{- if $given }}
{{- $given }}
{{- else }}
{{- $existing := lookup "v1" "Secret" $ctx.Release.Namespace $name }}
{{- if and $existing (hasKey ($existing.data | default dict) $key) }}
{{- index $existing.data $key | b64dec }}
{{- else }}
{{- randAlphaNum 48 }}
{{- end }}
{{- end }}
{{- end }}

{{/* The metadata of a chart-made Secret. Arguments: (list $ name). */}}
{{- define "feedback-service.secretMeta" -}}
metadata:
  name: {{ index . 1 }}
  namespace: {{ (index . 0).Release.Namespace }}
  labels:
    {{- include "feedback-service.labels" (index . 0) | nindent 4 }}
  annotations:
    # Kept when the release is deleted: tokens signed with it stay valid after a reinstall.
    helm.sh/resource-policy: keep
{{- end }}

{{/* Checks of values that depend on each other, with messages that say what to change. */}}
{{- define "feedback-service.validate" -}}
{{- if not .Values.mlflow.trackingUri }}
{{- fail "mlflow.trackingUri is required: the URL of your MLflow tracking server, e.g. --set mlflow.trackingUri=http://mlflow.mlflow.svc.cluster.local:5000 (a PostgreSQL-backed server shared by every replica; see docs/deploy.md)" }}
{{- end }}
{{- if and .Values.istio.enabled .Values.linkerd.enabled }}
{{- fail "istio.enabled and linkerd.enabled are exclusive: a pod gets one mesh's proxy" }}
{{- end }}
{{- if and .Values.tls.enabled (or .Values.istio.destinationRule.enabled .Values.istio.virtualService.enabled) }}
{{- fail "istio.destinationRule and istio.virtualService route on gRPC paths and the x-review-session header, which a sidecar cannot read when the server terminates TLS itself: keep tls.enabled=false and let the mesh do mTLS, or turn both off" }}
{{- end }}
{{- if and .Values.tls.enabled (not .Values.tls.existingSecret) (not (and .Values.tls.certificate .Values.tls.privateKey)) }}
{{- fail "tls.enabled needs tls.existingSecret (a kubernetes.io/tls Secret, e.g. from cert-manager) or both tls.certificate and tls.privateKey (PEM)" }}
{{- end }}
{{- if and .Values.tls.clientAuth.enabled (not .Values.tls.enabled) }}
{{- fail "tls.clientAuth.enabled (mTLS at the server) needs tls.enabled" }}
{{- end }}
{{- if and .Values.tls.clientAuth.enabled (not .Values.tls.clientAuth.existingSecret) (not (include "feedback-service.tlsHasCA" .)) }}
{{- fail "tls.clientAuth.enabled needs the CA that signs client certificates: tls.caCertificate, tls.existingSecret (with ca.crt) or tls.clientAuth.existingSecret" }}
{{- end }}
{{- if and (eq .Values.chat.backend "openai") (not (and .Values.chat.openai.baseUrl .Values.chat.openai.model)) }}
{{- fail "chat.backend=openai needs chat.openai.baseUrl and chat.openai.model" }}
{{- end }}
{{- if and .Values.metrics.serviceMonitor.enabled (eq (int .Values.server.metricsPort) 0) }}
{{- fail "metrics.serviceMonitor.enabled needs server.metricsPort (0 turns the metrics off)" }}
{{- end }}
{{- end }}

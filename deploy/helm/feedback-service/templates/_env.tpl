{{/* The server's settings (README "Configuration"), from the values. */}}
{{- define "feedback-service.env" -}}
{{- $v := .Values -}}
- name: FEEDBACK_SERVER_HOST
  value: "0.0.0.0"
- name: FEEDBACK_SERVER_PORT
  value: {{ $v.server.grpcPort | quote }}
- name: FEEDBACK_HTTP_PORT
  value: {{ $v.server.httpPort | quote }}
- name: FEEDBACK_METRICS_PORT
  value: {{ $v.server.metricsPort | quote }}
{{- /* The judgment name the positive-rate alert watches keeps its own metric label. */}}
- name: FEEDBACK_METRICS_NAMES
  value: {{ $v.metrics.prometheusRule.positiveRate.feedbackName | quote }}
- name: FEEDBACK_DATA_DIR
  value: /var/lib/feedback
- name: FEEDBACK_SPOOL_MAX_BYTES
  value: {{ include "feedback-service.spoolMaxBytes" . | quote }}
- name: FEEDBACK_SPOOL_SYNC
  value: {{ $v.spool.sync | quote }}
- name: FEEDBACK_SPOOL_LINGER_MS
  value: {{ $v.spool.lingerMs | quote }}
- name: FEEDBACK_DRAIN_PROCESS
  value: {{ $v.spool.drainProcess | quote }}
- name: FEEDBACK_LOG_LEVEL
  value: {{ $v.server.logLevel | quote }}
- name: FEEDBACK_LOG_FORMAT
  value: {{ $v.server.logFormat | quote }}
- name: FEEDBACK_SHUTDOWN_DELAY_S
  value: {{ $v.shutdown.delaySeconds | quote }}
- name: FEEDBACK_SHUTDOWN_GRACE_S
  value: {{ $v.shutdown.graceSeconds | quote }}
- name: FEEDBACK_MAX_CONNECTION_AGE_S
  value: {{ $v.server.maxConnectionAgeSeconds | quote }}
{{- with $v.server.corsOrigins }}
- name: FEEDBACK_CORS_ORIGINS
  value: {{ join "," . | quote }}
{{- end }}
- name: MLFLOW_TRACKING_URI
  value: {{ $v.mlflow.trackingUri | quote }}
- name: MLFLOW_EXPERIMENT_NAME
  value: {{ $v.mlflow.experimentName | quote }}
- name: FEEDBACK_MLFLOW_TIMEOUT_S
  value: {{ $v.mlflow.timeoutSeconds | quote }}
{{- if $v.auth.enabled }}
- name: FEEDBACK_AUTH_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "feedback-service.authSecretName" . }}
      key: {{ $v.auth.secretKey }}
{{- end }}
{{- if $v.feedbackTokens.enabled }}
- name: FEEDBACK_TOKEN_SECRET_FILE
  value: /etc/feedback/feedback-tokens/{{ $v.feedbackTokens.secretKey }}
- name: FEEDBACK_TOKEN_TTL_S
  value: {{ $v.feedbackTokens.ttlSeconds | quote }}
- name: FEEDBACK_TOKEN_RATE_PER_MIN
  value: {{ $v.feedbackTokens.ratePerMinute | quote }}
{{- end }}
{{- if $v.tls.enabled }}
- name: FEEDBACK_TLS_CERT_FILE
  value: /etc/feedback/tls/tls.crt
- name: FEEDBACK_TLS_KEY_FILE
  value: /etc/feedback/tls/tls.key
{{- if $v.tls.clientAuth.enabled }}
- name: FEEDBACK_TLS_CLIENT_CA_FILE
  value: /etc/feedback/client-ca/ca.crt
{{- end }}
{{- end }}
- name: FEEDBACK_CHAT_BACKEND
  value: {{ $v.chat.backend | quote }}
{{- /* The OpenAI-compatible server also serves the review's LLM judge, whatever the backend. */}}
{{- if $v.chat.openai.baseUrl }}
- name: FEEDBACK_OPENAI_BASE_URL
  value: {{ $v.chat.openai.baseUrl | quote }}
- name: FEEDBACK_OPENAI_MODEL
  value: {{ $v.chat.openai.model | quote }}
- name: FEEDBACK_OPENAI_TIMEOUT_S
  value: {{ $v.chat.openai.timeoutSeconds | quote }}
{{- with $v.chat.openai.systemPrompt }}
- name: FEEDBACK_OPENAI_SYSTEM_PROMPT
  value: {{ . | quote }}
{{- end }}
{{- end }}
{{- if or $v.chat.openai.apiKey.existingSecret $v.chat.openai.apiKey.value }}
- name: OPENAI_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "feedback-service.openaiSecretName" . }}
      key: {{ $v.chat.openai.apiKey.secretKey }}
{{- end }}
{{- with $v.server.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "attune.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "attune.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "attune.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "attune.secretName" -}}
{{- default (include "attune.fullname" .) .Values.existingSecret -}}
{{- end -}}

{{- define "attune.image" -}}
{{ .Values.image.repository }}:{{ default .Chart.AppVersion .Values.image.tag }}
{{- end -}}

{{/* The environment of every replica. */}}
{{- define "attune.env" -}}
- name: ATTUNE_STORE
  value: {{ .Values.store | quote }}
- name: ATTUNE_STORE_SCHEMA
  value: {{ .Values.storeSchema | quote }}
- name: ATTUNE_BUS
  value: {{ .Values.bus | quote }}
- name: ATTUNE_REGION
  value: {{ .Values.region | quote }}
- name: ATTUNE_LISTEN
  value: {{ printf "0.0.0.0:%v" .Values.ports.http | quote }}
- name: ATTUNE_ADMIN_LISTEN
  value: {{ printf "0.0.0.0:%v" .Values.ports.admin | quote }}
- name: ATTUNE_LOG_FORMAT
  value: json
- name: ATTUNE_DATA_DIR
  value: /data
- name: ATTUNE_SHUTDOWN_DELAY
  value: {{ .Values.shutdownDelay | quote }}
{{- with .Values.s3.endpoint }}
- name: AWS_ENDPOINT_URL_S3
  value: {{ . | quote }}
{{- end }}
- name: AWS_REGION
  value: {{ .Values.s3.region | quote }}
{{- range $k, $v := .Values.extraEnv }}
- name: {{ $k }}
  value: {{ $v | quote }}
{{- end }}
{{- end -}}

{{- define "attune.claimName" -}}
{{- default (printf "%s-data" (include "attune.fullname" .)) .Values.persistence.existingClaim -}}
{{- end -}}

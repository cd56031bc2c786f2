{{/*
Expand the name of the chart.
*/}}
{{- define "spacetime-vr.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Create a default fully qualified app name.
Truncated at 63 characters because some Kubernetes name fields are limited to
this (by the DNS naming spec). If the release name contains the chart name it
is used as the full name.
*/}}
{{- define "spacetime-vr.fullname" -}}
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

{{/*
Create chart name and version as used by the chart label.
*/}}
{{- define "spacetime-vr.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Common labels.
*/}}
{{- define "spacetime-vr.labels" -}}
helm.sh/chart: {{ include "spacetime-vr.chart" . }}
{{ include "spacetime-vr.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: spacetime-vr
{{- end }}

{{/*
Selector labels (immutable: never add the version here).
*/}}
{{- define "spacetime-vr.selectorLabels" -}}
app.kubernetes.io/name: {{ include "spacetime-vr.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: game-server
{{- end }}

{{/*
Name of the service account to use.
*/}}
{{- define "spacetime-vr.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "spacetime-vr.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Full image reference: [registry/]repository(@digest|:tag).
The tag defaults to the chart appVersion; "latest" and empty tags are rejected.
*/}}
{{- define "spacetime-vr.image" -}}
{{- $repository := .Values.image.repository -}}
{{- if .Values.image.registry -}}
{{- $repository = printf "%s/%s" (trimSuffix "/" .Values.image.registry) .Values.image.repository -}}
{{- end -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" $repository .Values.image.digest -}}
{{- else -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion | toString -}}
{{- if or (eq $tag "") (eq $tag "latest") -}}
{{- fail "image.tag must be an explicit release version (empty and \"latest\" are not allowed)" -}}
{{- end -}}
{{- printf "%s:%s" $repository $tag -}}
{{- end -}}
{{- end }}

{{/*
Name of the PersistentVolumeClaim holding the server data.
*/}}
{{- define "spacetime-vr.pvcName" -}}
{{- if .Values.persistence.existingClaim }}
{{- .Values.persistence.existingClaim }}
{{- else }}
{{- printf "%s-data" (include "spacetime-vr.fullname" .) }}
{{- end }}
{{- end }}

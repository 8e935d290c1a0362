{{- define "aerodb-functions.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "aerodb-functions.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "aerodb-functions.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "aerodb-functions.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "aerodb-functions.selectorLabels" -}}
app.kubernetes.io/name: {{ include "aerodb-functions.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "aerodb-functions.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "aerodb-functions.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "aerodb-functions.jwtSecretName" -}}
{{- default (printf "%s-jwt" (include "aerodb-functions.fullname" .)) .Values.jwt.existingSecret -}}
{{- end -}}

{{- define "aerodb-functions.databaseSecretName" -}}
{{- default (printf "%s-database" (include "aerodb-functions.fullname" .)) .Values.database.existingSecret -}}
{{- end -}}

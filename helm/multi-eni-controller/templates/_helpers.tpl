{{/* Names and labels. */}}
{{- define "mec.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "mec.fullname" -}}
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

{{/* <fullname>-<component>, within 63 characters. */}}
{{- define "mec.componentName" -}}
{{- $root := index . 0 -}}
{{- $component := index . 1 -}}
{{- printf "%s-%s" (include "mec.fullname" $root | trunc (int (sub 62 (len $component))) | trimSuffix "-") $component -}}
{{- end -}}

{{- define "mec.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "mec.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: multi-eni
{{- end -}}

{{/* Selector labels of one component: (list $ "controller"). */}}
{{- define "mec.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ include "mec.name" $root }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "mec.componentLabels" -}}
{{ include "mec.labels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "mec.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "mec.controller.serviceAccountName" -}}
{{- if .Values.controller.serviceAccount.create -}}
{{- default (include "mec.componentName" (list . "controller")) .Values.controller.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.controller.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "mec.nodeAgent.serviceAccountName" -}}
{{- if .Values.nodeAgent.serviceAccount.create -}}
{{- default (include "mec.componentName" (list . "node-agent")) .Values.nodeAgent.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.nodeAgent.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
Where the controller writes Events about NodeENIs. NodeENIs are cluster-scoped and `kubectl describe nodeeni`
looks for their Events in `default`; the controller writes them there (watcher/events.ts, activities/kube.ts).
*/}}
{{- define "mec.eventNamespace" -}}default{{- end -}}

{{/*
The Temporal installed next to the controller in the same release (helm/multi-eni-with-temporal sets
temporal.enabled here): its full name, computed as the Temporal chart computes temporal.fullname from the same
release name and the same nameOverride/fullnameOverride.
*/}}
{{- define "mec.temporalFullname" -}}
{{- $t := .Values.temporal -}}
{{- if $t.fullnameOverride -}}
{{- $t.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default "temporal" $t.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Name of one of that Temporal's services, (list $ "frontend"): as the Temporal chart's temporal.componentname,
the full name cut to 62 - len(component) characters so that "-<component>" fits in 63 (a long release name
shortens the full name, never the component).
*/}}
{{- define "mec.temporalComponentName" -}}
{{- $root := index . 0 -}}
{{- $component := index . 1 -}}
{{- printf "%s-%s" (include "mec.temporalFullname" $root | trunc (sub 62 (len $component) | int) | trimSuffix "-") $component -}}
{{- end -}}

{{/* host:port of the Temporal frontend. */}}
{{- define "mec.temporalAddress" -}}
{{- if .Values.temporalConnection.address -}}
{{- .Values.temporalConnection.address -}}
{{- else if .Values.temporal.enabled -}}
{{- printf "%s.%s.svc:%v" (include "mec.temporalComponentName" (list . "frontend")) .Release.Namespace (dig "server" "frontend" "service" "port" 7233 .Values.temporal) -}}
{{- else -}}
{{- fail "temporalConnection.address: set the Temporal frontend address (host:port), or install with Temporal (helm/multi-eni-with-temporal)" -}}
{{- end -}}
{{- end -}}

{{- define "mec.temporalTlsOn" -}}
{{- $c := .Values.temporalConnection -}}
{{- if or $c.tls.enabled $c.tls.clientCertSecret $c.tls.caSecret.name $c.apiKey.existingSecret -}}true{{- end -}}
{{- end -}}

{{/*
Temporal connection environment: (list $ "controller") or (list $ "node-agent"). Both read the same variables
(workers/temporal-connection.ts).
*/}}
{{- define "mec.temporalEnv" -}}
{{- $root := index . 0 -}}
{{- $c := $root.Values.temporalConnection -}}
- name: TEMPORAL_ADDRESS
  value: {{ include "mec.temporalAddress" $root | quote }}
- name: TEMPORAL_NAMESPACE
  value: {{ $c.namespace | quote }}
{{- if include "mec.temporalTlsOn" $root }}
- name: TEMPORAL_TLS
  value: "true"
{{- end }}
{{- if $c.tls.serverName }}
- name: TEMPORAL_TLS_SERVER_NAME
  value: {{ $c.tls.serverName | quote }}
{{- end }}
{{- if $c.tls.clientCertSecret }}
- name: TEMPORAL_TLS_CERT
  value: /etc/multi-eni/temporal-client/tls.crt
- name: TEMPORAL_TLS_KEY
  value: /etc/multi-eni/temporal-client/tls.key
{{- end }}
{{- if $c.tls.caSecret.name }}
- name: TEMPORAL_TLS_CA
  value: /etc/multi-eni/temporal-ca/ca.crt
{{- end }}
{{- if $c.apiKey.existingSecret }}
- name: TEMPORAL_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $c.apiKey.existingSecret }}
      key: {{ $c.apiKey.key }}
{{- end }}
{{- end -}}

{{- define "mec.temporalVolumeMounts" -}}
{{- $c := .Values.temporalConnection -}}
{{- if $c.tls.clientCertSecret }}
- name: temporal-client-cert
  mountPath: /etc/multi-eni/temporal-client
  readOnly: true
{{- end }}
{{- if $c.tls.caSecret.name }}
- name: temporal-ca
  mountPath: /etc/multi-eni/temporal-ca
  readOnly: true
{{- end }}
{{- end -}}

{{- define "mec.temporalVolumes" -}}
{{- $c := .Values.temporalConnection -}}
{{- if $c.tls.clientCertSecret }}
- name: temporal-client-cert
  secret:
    secretName: {{ $c.tls.clientCertSecret }}
    items:
      - key: tls.crt
        path: tls.crt
      - key: tls.key
        path: tls.key
{{- end }}
{{- if $c.tls.caSecret.name }}
- name: temporal-ca
  secret:
    secretName: {{ $c.tls.caSecret.name }}
    items:
      - key: {{ $c.tls.caSecret.key }}
        path: ca.crt
{{- end }}
{{- end -}}

{{/* Checks that JSON schema cannot express (and clusterName again, for `--skip-schema-validation`). */}}
{{- define "mec.validate" -}}
{{- if not .Values.clusterName -}}
{{- fail "clusterName: required, no default: set the name of this cluster (--set clusterName=<name>, e.g. the EKS cluster name); it is the ENIs' multi-eni.networking.k8s.aws/cluster tag and the IAM policy's CLUSTER_NAME" -}}
{{- end -}}
{{- if eq (toString .Values.clusterName) "default" -}}
{{- fail "clusterName: \"default\" is refused: give each cluster sharing an AWS account its own name (--set clusterName=<name>)" -}}
{{- end -}}
{{- $ctl := .Values.controller -}}
{{- if and (gt (int $ctl.replicas) 1) (has "watcher" $ctl.components) (not $ctl.leaderElection.enabled) -}}
{{- fail (printf "controller.leaderElection.enabled: must be true when controller.replicas is %d and the replicas run the watcher (two watchers would race on finalizers and signals)" (int $ctl.replicas)) -}}
{{- end -}}
{{- $c := .Values.temporalConnection -}}
{{- if and .Values.temporal.enabled .Values.temporalConnection.address -}}
{{- $host := .Values.temporalConnection.address | splitList ":" | first | splitList "." | first -}}
{{- $frontends := list (include "mec.temporalComponentName" (list . "frontend")) (include "mec.temporalComponentName" (list . "internal-frontend")) -}}
{{- if not (has $host $frontends) -}}
{{- fail (printf "temporalConnection.address: %q is not a frontend of the Temporal installed with the controller (temporal.enabled: true, frontends %s); set it to \"\" to use that Temporal's frontend" .Values.temporalConnection.address (join ", " $frontends)) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* A map of labels as an equality-based selector string, keys sorted: k1=v1,k2=v2. */}}
{{- define "mec.selectorString" -}}
{{- $terms := list -}}
{{- range $k, $v := . -}}
{{- $terms = append $terms (printf "%s=%s" $k $v) -}}
{{- end -}}
{{- join "," $terms -}}
{{- end -}}

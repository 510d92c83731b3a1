{{- define "cnsgate.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "cnsgate.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "cnsgate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cnsgate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "cnsgate.labels" -}}
{{ include "cnsgate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "cnsgate.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* The configuration the chart owns: listeners, mounted files, shutdown,
sessions and registry; merged over .Values.config. */}}
{{- define "cnsgate.managedConfig" -}}
issuer: {{ .Values.issuer }}
cns_origin: {{ .Values.cnsOrigin }}
listen:
  public: ":8443"
  cns: ":8444"
  admin: ":9464"
tls:
  cert_file: /etc/cnsgate/tls/tls.crt
  key_file: /etc/cnsgate/tls/tls.key
trust:
  ca_dirs: [/etc/cnsgate/ca]
shutdown:
  drain: {{ .Values.shutdown.drainSeconds }}s
  timeout: {{ .Values.shutdown.timeoutSeconds }}s
sessions:
  store: {{ .Values.sessions.store }}
  {{- if eq .Values.sessions.store "redis" }}
  redis:
    mode: {{ .Values.sessions.redis.mode }}
    addrs: {{ .Values.sessions.redis.addrs | toJson }}
    {{- if .Values.sessions.redis.masterName }}
    master_name: {{ .Values.sessions.redis.masterName }}
    {{- end }}
    {{- if .Values.sessions.redis.username }}
    username: {{ .Values.sessions.redis.username }}
    {{- end }}
    {{- if .Values.sessions.redis.passwordSecret.name }}
    password_file: /run/secrets/cnsgate/redis/password
    {{- end }}
    db: {{ .Values.sessions.redis.db }}
    tls: {{ .Values.sessions.redis.tls }}
  {{- end }}
registry:
  driver: {{ .Values.registry.driver }}
  {{- if eq .Values.registry.driver "postgres" }}
  dsn_file: /run/secrets/cnsgate/postgres/dsn
  {{- else }}
  dsn: /var/lib/cnsgate/cnsgate.db
  {{- end }}
  timeout: {{ .Values.registry.timeout }}
{{- if .Values.oidc.enabled }}
oidc:
  signing_keys:
  {{- range .Values.oidc.signingKeys }}
    - /run/secrets/cnsgate/oidc/{{ . }}
  {{- end }}
  subject_salt_file: /run/secrets/cnsgate/oidc/{{ .Values.oidc.subjectSaltKey }}
{{- end }}
{{- if .Values.saml.enabled }}
saml:
  cert_file: /run/secrets/cnsgate/saml/tls.crt
  key_file: /run/secrets/cnsgate/saml/tls.key
  name_id_salt_file: /run/secrets/cnsgate/saml/name-id-salt
{{- end }}
{{- if .Values.admin.tokenSecret.name }}
admin:
  token_file: /run/secrets/cnsgate/admin/token
{{- end }}
{{- $cidrs := list }}
{{- if eq .Values.cns.mode "ingress" }}{{ $cidrs = concat $cidrs .Values.cns.ingress.trustedCIDRs }}{{ end }}
{{- if .Values.publicIngress.enabled }}{{ $cidrs = concat $cidrs .Values.publicIngress.trustedCIDRs }}{{ end }}
{{- if $cidrs }}
proxy:
  trusted_cidrs: {{ $cidrs | uniq | toJson }}
  header: nginx
{{- end }}
{{- end -}}

{{/* Checks of values that would render a chart cnsgate refuses. */}}
{{- define "cnsgate.validate" -}}
{{- if not (has .Values.cns.mode (list "passthrough" "ingress")) -}}
{{- fail (printf "cns.mode: %q is neither passthrough nor ingress" .Values.cns.mode) -}}
{{- end -}}
{{- if and (eq .Values.cns.mode "ingress") (not .Values.cns.ingress.trustedCIDRs) -}}
{{- fail "cns.ingress.trustedCIDRs: required with cns.mode ingress (the ingress controller's pod addresses, the only peers whose certificate header cnsgate believes)" -}}
{{- end -}}
{{- if and (eq .Values.cns.mode "ingress") (not .Values.cns.ingress.caSecret) -}}
{{- fail "cns.ingress.caSecret: required with cns.mode ingress (ingress-nginx asks for a client certificate only with auth-tls-secret)" -}}
{{- end -}}
{{- if not (has .Values.sessions.redis.mode (list "standalone" "sentinel" "cluster")) -}}
{{- fail (printf "sessions.redis.mode: %q is not standalone, sentinel or cluster" .Values.sessions.redis.mode) -}}
{{- end -}}
{{- if and (eq .Values.sessions.redis.mode "sentinel") (not .Values.sessions.redis.masterName) -}}
{{- fail "sessions.redis.masterName: required with sessions.redis.mode sentinel" -}}
{{- end -}}
{{- if and (gt (int .Values.replicaCount) 1) (or (ne .Values.sessions.store "redis") (ne .Values.registry.driver "postgres")) -}}
{{- fail "replicaCount > 1 needs sessions.store redis and registry.driver postgres: replicas share their sessions and registry" -}}
{{- end -}}
{{- if not (has .Values.antiAffinity (list "soft" "hard")) -}}
{{- fail (printf "antiAffinity: %q is neither soft nor hard" .Values.antiAffinity) -}}
{{- end -}}
{{- end -}}

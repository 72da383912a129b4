# aegis.hcl: configuration of one Aegis server.
#
# This default runs in embedded mode: a SQLite file and evidence on local disk,
# both under ./var next to this file. Every block and attribute is optional;
# an omitted one takes the default shown here. Unknown names and bad values
# stop the server with file:line:column, they are never ignored.
#
# env("NAME", "default") reads an environment variable (the default applies
# when it is unset or empty). Relative paths are relative to this file.

# HTTP API and web UI.
server {
  listen           = env("AEGIS_LISTEN", "127.0.0.1:8080")
  base_url         = env("AEGIS_BASE_URL") # public URL used in links; optional
  shutdown_timeout = "15s"                 # grace period for in-flight requests
  # HTTPS: set both, or neither.
  # tls_cert = "tls/aegis.crt"
  # tls_key  = "tls/aegis.key"
}

# Storage. For production use PostgreSQL 15+:
#   driver = "postgres"
#   dsn    = env("AEGIS_DB_DSN")   # postgres://aegis:secret@db:5432/aegis?sslmode=require
database {
  driver         = env("AEGIS_DB_DRIVER", "sqlite")
  dsn            = env("AEGIS_DB_DSN", "var/aegis.db")
  max_open_conns = 10
}

# Uploaded test evidence (screenshots, logs, pcaps).
evidence {
  backend         = "disk"         # or "s3"
  path            = "var/evidence" # disk backend directory
  max_upload_size = "100MiB"       # B, KB, MB, GB, KiB, MiB, GiB
  # allowed_types = ["image/png", "image/jpeg", "text/plain", "application/json"]

  # Used when backend = "s3" (MinIO, AWS S3 or any S3-compatible server).
  # s3 {
  #   endpoint   = "s3.amazonaws.com" # host[:port], no scheme
  #   bucket     = "aegis-evidence"
  #   region     = "eu-west-1"
  #   access_key = env("AEGIS_S3_ACCESS_KEY")
  #   secret_key = env("AEGIS_S3_SECRET_KEY")
  #   prefix     = "evidence/"
  #   use_ssl    = true
  # }
}

# Sessions, API tokens and login throttling.
auth {
  session_ttl         = "12h"
  token_max_ttl       = "8760h" # longest allowed lifetime of a personal API token
  login_max_attempts  = 10      # failed logins allowed per login_window
  login_window        = "15m"
  password_min_length = 12
  # cookie_secure     = true    # default: secure when the server serves TLS
}

# Background jobs. Cron specs: five fields or @hourly, @daily, @weekly, @every 6h.
# With several instances on one PostgreSQL, each job runs on one instance at a time.
scheduler {
  enabled                = true
  attack_sync            = "@daily"    # ATT&CK sync through the attack plugin
  intel_scan             = "@weekly"   # threat intel feed scan
  notification_cleanup   = "@daily"
  coverage_snapshot      = "0 0 * * 0" # Sundays 00:00
  recurring_campaigns    = "@daily"
  notification_retention = "720h"      # notifications older than this are deleted
}

log {
  level  = env("AEGIS_LOG_LEVEL", "info") # trace, debug, info, warn, error
  format = "text"                         # or "json"
}

# Plugins: Aegis runs only the plugins named here. Each binary defaults to
# <plugin_dir>/aegis-plugin-<name>; `make build` puts the first-party ones in bin/.
plugin_dir = "bin"

# CSV importer (tests, templates and mappings from spreadsheets).
plugin "csvimport" {
  enabled = true
  timeout = "10m"
}

# Further plugins, shown with every attribute. sha256 pins the binary
# (sha256sum bin/aegis-plugin-NAME); config { ... } is passed to the plugin as JSON.
#
# plugin "attack" {
#   enabled  = false
#   sha256   = "<64 hex characters>"
#   timeout  = "30m"
#   source   = "https://raw.githubusercontent.com/mitre-attack/attack-stix-data/master/enterprise-attack/enterprise-attack.json"
#   config {
#     domains            = ["enterprise-attack"]
#     include_deprecated = false
#   }
# }
#
# plugin "sigma" {
#   enabled  = false
#   path     = "bin/aegis-plugin-sigma"
#   schedule = "@weekly"
#   source   = "https://github.com/SigmaHQ/sigma/archive/refs/heads/master.zip"
#   config {
#     rule_dirs  = ["rules/windows", "rules/linux"]
#     min_level  = "medium"
#     statuses   = ["stable", "test"]
#     github     = { token = env("GITHUB_TOKEN") }
#   }
# }

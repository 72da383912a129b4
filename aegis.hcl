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
  # Deadline of an API request, down to its database queries: past it the request
  # is stopped, its transaction rolled back, and the client answered 503. Uploads,
  # downloads and chain verifications run without it.
  request_timeout  = "30s"
  # HTTPS: set both, or neither.
  # tls_cert = "tls/aegis.crt"
  # tls_key  = "tls/aegis.key"
  # Reverse proxies whose X-Forwarded-For is believed (addresses or CIDR ranges).
  # Empty (the default) believes no header: the peer address is the client, for
  # sign-in throttling, sessions and the audit log.
  # trusted_proxies = ["10.0.0.0/8"]
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
  #   part_size  = "16MiB"           # multipart chunk, held in memory per upload (5MiB-5GiB)
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
  snapshot_retention     = 104         # coverage snapshots kept (the newest); older ones are deleted
}

# What an import started through the API (POST /api/v1/imports with a source) may
# read. Sources written in this file or given to `aegis import --source` are not
# restricted. A URL source whose host resolves to a loopback, private, link-local or
# other non-public address is refused unless allow_private_networks is true; a local
# path must lie under one of allowed_paths (symbolic links resolved); a URL with
# credentials is refused (put it in the plugin block: source = env("...")).
import {
  allowed_paths          = [] # e.g. ["/srv/aegis/imports"]; empty: no local source through the API
  allow_private_networks = false
}

log {
  level  = env("AEGIS_LOG_LEVEL", "info") # trace, debug, info, warn, error
  format = "text"                         # or "json"
}

# Plugins: Aegis runs only the plugins named here. Each binary defaults to
# <plugin_dir>/aegis-plugin-<name>; `make build` puts the first-party ones in bin/.
plugin_dir = "bin"

# First-party plugins. Each binary is bin/aegis-plugin-<name> (make build). Sources are
# the canonical upstream locations; any source may be a local path instead (a file, a
# folder, a .tar.gz or a .zip), which is how an offline installation imports.
# `aegis import NAME` runs one now; a schedule runs it again (the attack and intel
# imports follow the scheduler block's attack_sync and intel_scan by default).
# Pin a binary with sha256 = "<sha256sum of the file>" to refuse a swapped one.

# ATT&CK Enterprise (tactics, techniques, mitigations). Also reads mitre/cti folders,
# collection indexes and TAXII 2.1 servers; see plugins/attack.
plugin "attack" {
  timeout = "30m"
  source  = "https://raw.githubusercontent.com/mitre-attack/attack-stix-data/master/index.json"
  config {
    domains = ["enterprise-attack"] # add "mobile-attack", "ics-attack" for the other matrices
    version = "latest"              # or a release such as "18.1"
    # release_version = "18.1"      # name the release when the source is a mitre/cti folder
    # taxii = { url = "https://attack-taxii.mitre.org/taxii2/", collection = "enterprise-attack" }
  }
}

# Threat actors, the techniques they use, and ATT&CK campaigns, from the same STIX data.
plugin "cti" {
  timeout  = "30m"
  schedule = "@weekly"
  source   = "https://raw.githubusercontent.com/mitre-attack/attack-stix-data/master/index.json"
  config {
    domains      = ["enterprise-attack"]
    via_software = true # actors also use the techniques of their software
  }
}

# MITRE D3FEND defensive techniques and their ATT&CK relations.
plugin "d3fend" {
  timeout  = "30m"
  schedule = "@monthly"
  source   = "https://d3fend.mitre.org/ontologies/d3fend.json"
  config {
    mitigations_source = "https://d3fend.mitre.org/api/mappings/attack-mitigations.json"
    attack_source      = "https://raw.githubusercontent.com/mitre-attack/attack-stix-data/master/enterprise-attack/enterprise-attack.json"
  }
}

# NIST SP 800-53 rev5 controls and their ATT&CK mappings (CTID Mappings Explorer).
plugin "nist" {
  timeout  = "30m"
  schedule = "@monthly"
  source   = "https://raw.githubusercontent.com/center-for-threat-informed-defense/mappings-explorer/main/mappings/nist_800_53/attack-16.1/nist_800_53-rev5/enterprise/nist_800_53-rev5_attack-16.1-enterprise.json"
}

# Threat intelligence feeds; technique and group ids found in the text are linked.
plugin "intel" {
  timeout = "10m"
  source  = "https://www.cisa.gov/cybersecurity-advisories/all.xml"
  config {
    feeds = ["https://thedfirreport.com/feed/"]
  }
}

# Test catalogs.
plugin "atomic" {
  timeout  = "10m"
  schedule = "@weekly"
  source   = "https://github.com/redcanaryco/atomic-red-team/archive/refs/heads/master.zip"
}

plugin "caldera" {
  timeout  = "10m"
  schedule = "@weekly"
  source   = "https://github.com/mitre/stockpile/archive/refs/heads/master.zip"
}

plugin "lolbas" {
  timeout  = "10m"
  schedule = "@weekly"
  source   = "https://github.com/LOLBAS-Project/LOLBAS/archive/refs/heads/master.zip"
  config {
    layout = "lolbas"
  }
}

# GTFOBins is read by the lolbas plugin too: a second block on the same binary.
plugin "gtfobins" {
  path     = "bin/aegis-plugin-lolbas"
  timeout  = "10m"
  schedule = "@weekly"
  source   = "https://github.com/GTFOBins/GTFOBins.github.io/archive/refs/heads/master.zip"
  config {
    layout = "gtfobins"
  }
}

# Detection rules.
plugin "sigma" {
  timeout  = "10m"
  schedule = "@weekly"
  source   = "https://github.com/SigmaHQ/sigma/archive/refs/heads/master.zip"
  config {
    folders = ["rules", "rules-emerging-threats", "rules-threat-hunting", "rules-compliance", "rules-dfir", "deprecated"]
  }
}

plugin "elastic" {
  timeout  = "10m"
  schedule = "@weekly"
  source   = "https://github.com/elastic/detection-rules/archive/refs/heads/main.zip"
  config {
    folders = ["rules", "rules_building_block", "hunting"]
  }
}

# An organisation's own test templates and detection rules from CSV files (the example
# plugin of docs/PLUGINS.md). Point source at a folder holding templates.csv and rules.csv.
plugin "csvimport" {
  enabled = true
  timeout = "10m"
}

# Exporters: ATT&CK Navigator layers (format 4.5) of any scope. `aegis export navigator
# --scope actor:G0016 --out apt29.json`; a diff:OLD..NEW scope writes three layers (earlier,
# later, change) in one file. views picks the layers: score, status; before, after, change
# for a diff; rules for a rules scope.
plugin "navigator" {
  timeout = "5m"
  # config {
  #   views             = ["score", "status"]
  #   navigator_version = "5.1.0"
  # }
}

# Coverage reports: `aegis export report --type csv --out coverage.csv` (a row per technique)
# or `--type html --out report.html`, an executive report with inline charts that prints
# to PDF from a browser. Any coverage scope (organisation, tactic:, actor:, campaign:,
# snapshot:, diff:).
plugin "report" {
  timeout = "5m"
  # config {
  #   organisation = "ACME Corp" # the name printed on the html report
  #   top_gaps     = 15
  #   appendix     = false       # true: a table of every technique
  # }
}

# Exporters: Sigma rule converters. `aegis convert splunk rules/` or `aegis export splunk
# --scope rules:level=high --out high.ndjson`. A converter's config may set
# field_mapping = "sysmon_ecs" (or "ecs_sysmon"), fields = { Image = "..." } and
# placeholders = { admins = ["..."] } for the expand modifier.
plugin "splunk" {
  timeout = "10m"
}

plugin "lucene" {
  timeout = "10m"
  config {
    field_mapping = "sysmon_ecs"
  }
}

plugin "kql" {
  timeout = "10m"
}

#!/bin/sh
# Regenerates the protocol code committed under sdk/internal/pb/. Run from
# anywhere (make generate runs it). Needs protoc (apt-get install
# protobuf-compiler) and:
#   go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
#   go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
set -eu
cd "$(dirname "$0")"
PATH="$(go env GOPATH)/bin:$PATH"
protoc \
	--proto_path=proto \
	--go_out=. --go_opt=module=github.com/aegis-sec/aegis/sdk \
	--go-grpc_out=. --go-grpc_opt=module=github.com/aegis-sec/aegis/sdk \
	aegis/plugin/v1/plugin.proto

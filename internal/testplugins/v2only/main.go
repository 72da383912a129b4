// Command v2only is a test plugin that speaks only protocol version 2 (which
// does not exist yet), with Aegis's cookie, so the host can show that a
// version mismatch fails with a message naming both sides' versions.
package main

import (
	"context"
	"errors"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/aegis-sec/aegis/sdk/host"
)

type v2Plugin struct {
	plugin.NetRPCUnsupportedPlugin
}

func (v2Plugin) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error { return nil }

func (v2Plugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, errors.New("v2only has no client")
}

func main() {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  host.Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{2: {host.DispenseName: v2Plugin{}}},
		GRPCServer:       plugin.DefaultGRPCServer,
	})
}

package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/convirt/convirt/plugins/sdk/internal/pb"
	"github.com/convirt/convirt/plugins/sdk/shm"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// ServeConfig names the implementation a plugin process serves: set exactly
// one of Encoder, Loss, Dataset and Evaluator.
type ServeConfig struct {
	Encoder   Encoder
	Loss      Loss
	Dataset   Dataset
	Evaluator Evaluator
	// Logger receives the plugin's logs; the default writes JSON to stderr,
	// which the host turns into entries of the run's log.
	Logger hclog.Logger
}

// kindImpl returns the kind and implementation cfg names.
func (cfg ServeConfig) kindImpl() (Kind, Plugin, error) {
	var kind Kind
	var impl Plugin
	n := 0
	if cfg.Encoder != nil {
		kind, impl, n = KindEncoder, cfg.Encoder, n+1
	}
	if cfg.Loss != nil {
		kind, impl, n = KindLoss, cfg.Loss, n+1
	}
	if cfg.Dataset != nil {
		kind, impl, n = KindDataset, cfg.Dataset, n+1
	}
	if cfg.Evaluator != nil {
		kind, impl, n = KindEvaluator, cfg.Evaluator, n+1
	}
	if n != 1 {
		return "", nil, errNoImpl
	}
	return kind, impl, nil
}

// Serve runs the plugin process: it completes the handshake with the host
// that started it and serves calls until the host stops it, then closes the
// implementation. It must be called from main before anything writes to
// stdout, which belongs to the handshake. It returns an error for a bad
// config; launched by hand rather than by a host, it explains that and exits.
func Serve(cfg ServeConfig) error {
	kind, impl, err := cfg.kindImpl()
	if err != nil {
		return err
	}
	wire, err := wireFromEnv()
	if err != nil {
		return fmt.Errorf("sdk: %w", err)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = hclog.New(&hclog.LoggerOptions{Output: os.Stderr, JSONFormat: true, Level: hclog.Trace})
	}
	gp := &grpcPlugin{kind: kind, server: &baseServer{kind: kind, impl: impl, wire: wire}}
	go exitWithParent(logger)
	// The host ends its plugins (Close, the parent-death signal). A batch
	// scheduler signals every process of a job (Slurm's SIGTERM before a
	// time limit): a plugin stays up, so that the host, which stops cleanly
	// on that signal, can still save its state. go-plugin ignores SIGINT.
	signal.Ignore(syscall.SIGTERM)
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: Handshake,
		Plugins:         plugin.PluginSet{string(kind): gp},
		Logger:          logger,
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			opts = append(opts, grpc.MaxRecvMsgSize(wire.MaxMessageBytes), grpc.MaxSendMsgSize(wire.MaxMessageBytes))
			return grpc.NewServer(opts...)
		},
	})
	err = gp.server.close()
	if _, serr := shm.Sweep(os.Getpid()); serr != nil {
		logger.Warn("removing shared-memory segments", "error", serr)
	}
	if err != nil {
		return fmt.Errorf("sdk: closing %s plugin: %w", kind, err)
	}
	return nil
}

// grpcPlugin is the go-plugin glue for one kind: on the plugin side it
// registers the servers, on the host side it makes the client.
type grpcPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	kind Kind

	server *baseServer // plugin side

	name string // host side: the plugin's name, for errors
	wire WireOptions
}

// GRPCServer implements plugin.GRPCPlugin.
func (p *grpcPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterPluginServer(s, p.server)
	w, impl := p.server.wire, p.server.impl
	switch p.kind {
	case KindEncoder:
		pb.RegisterEncoderServer(s, &encoderServer{impl: impl.(Encoder), wire: w})
	case KindLoss:
		pb.RegisterLossServer(s, &lossServer{impl: impl.(Loss), wire: w})
	case KindDataset:
		pb.RegisterDatasetServer(s, &datasetServer{impl: impl.(Dataset), wire: w})
	case KindEvaluator:
		pb.RegisterEvaluatorServer(s, &evaluatorServer{impl: impl.(Evaluator), wire: w})
	default:
		return fmt.Errorf("sdk: cannot serve kind %q", p.kind)
	}
	return nil
}

// GRPCClient implements plugin.GRPCPlugin.
func (p *grpcPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	base := baseClient{name: p.name, wire: p.wire, c: pb.NewPluginClient(c)}
	switch p.kind {
	case KindEncoder:
		return &encoderClient{baseClient: base, e: pb.NewEncoderClient(c)}, nil
	case KindLoss:
		return &lossClient{baseClient: base, l: pb.NewLossClient(c)}, nil
	case KindDataset:
		return &datasetClient{baseClient: base, d: pb.NewDatasetClient(c)}, nil
	case KindEvaluator:
		return &evaluatorClient{baseClient: base, v: pb.NewEvaluatorClient(c)}, nil
	case "":
		return &base, nil
	}
	return nil, fmt.Errorf("sdk: unknown plugin kind %q", p.kind)
}

// ProbeName is the entry of ClientPlugins that dispenses a client for the
// Plugin service only (Info, Configure, State, Close), whatever the kind.
const ProbeName = "plugin"

// ClientPlugins is the go-plugin plugin set a host uses to talk to the
// plugin called name: one entry per kind, whose Dispense returns the kind's
// interface (Encoder, Loss, Dataset, Evaluator), plus ProbeName, which
// returns a Plugin. Errors of the clients name the plugin.
func ClientPlugins(name string, wire WireOptions) plugin.PluginSet {
	wire = wire.withDefaults()
	set := plugin.PluginSet{ProbeName: &grpcPlugin{name: name, wire: wire}}
	for _, k := range Kinds {
		set[string(k)] = &grpcPlugin{kind: k, name: name, wire: wire}
	}
	return set
}

// GRPCDialOptions returns the message-size options a host passes to
// go-plugin's ClientConfig.GRPCDialOptions for wire.
func GRPCDialOptions(wire WireOptions) []grpc.DialOption {
	wire = wire.withDefaults()
	return []grpc.DialOption{grpc.WithDefaultCallOptions(
		grpc.MaxCallRecvMsgSize(wire.MaxMessageBytes),
		grpc.MaxCallSendMsgSize(wire.MaxMessageBytes),
	)}
}

// DecodeConfig copies a config map into dst, a pointer to a struct with json
// tags, failing on keys dst does not have. Configure implementations use it
// to get typed config.
func DecodeConfig(cfg map[string]any, dst any) error {
	b, err := json.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return nil
}

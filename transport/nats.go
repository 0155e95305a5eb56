package transport

import (
	"fmt"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// MaxEmbeddedPayload is the message size limit of the embedded server: the
// largest NATS allows.
const MaxEmbeddedPayload = 64 << 20

// EmbeddedOptions configure an in-process NATS server.
type EmbeddedOptions struct {
	// Listen is "host:port" to also accept TCP clients (remote workers,
	// `rasterflow top`); "" means in-process connections only.
	Listen string
	// JetStream enables JetStream with its store in StoreDir.
	JetStream bool
	StoreDir  string
	// MaxPayload defaults to MaxEmbeddedPayload.
	MaxPayload int32
}

// Embedded is a NATS server running in this process.
type Embedded struct {
	Server *server.Server
}

// StartEmbedded starts a NATS server in process and waits until it is ready.
func StartEmbedded(o EmbeddedOptions) (*Embedded, error) {
	opts := &server.Options{
		ServerName:     "rasterflow-embedded",
		DontListen:     o.Listen == "",
		MaxPayload:     o.MaxPayload,
		MaxPending:     2 * MaxEmbeddedPayload,
		NoSigs:         true,
		NoLog:          true,
		JetStream:      o.JetStream,
		StoreDir:       o.StoreDir,
		WriteDeadline:  30 * time.Second,
		MaxControlLine: 4096,
	}
	if opts.MaxPayload == 0 {
		opts.MaxPayload = MaxEmbeddedPayload
	}
	if o.Listen != "" {
		host, port, err := splitHostPort(o.Listen)
		if err != nil {
			return nil, err
		}
		opts.Host, opts.Port = host, port
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("transport: embedded NATS: %w", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, fmt.Errorf("transport: embedded NATS did not start within 10s")
	}
	return &Embedded{Server: ns}, nil
}

// Connect opens a client connection to the embedded server, in process.
func (e *Embedded) Connect(name string) (*nats.Conn, error) {
	nc, err := nats.Connect("", nats.InProcessServer(e.Server), nats.Name(name), nats.MaxReconnects(-1))
	if err != nil {
		return nil, fmt.Errorf("transport: connect to embedded NATS: %w", err)
	}
	return nc, nil
}

// ClientURL is the TCP URL of the server, or "" when it does not listen.
func (e *Embedded) ClientURL() string {
	if e.Server.Addr() == nil {
		return ""
	}
	return e.Server.ClientURL()
}

// Shutdown stops the server.
func (e *Embedded) Shutdown() {
	e.Server.Shutdown()
	e.Server.WaitForShutdown()
}

func splitHostPort(s string) (string, int, error) {
	var host string
	var port int
	i := len(s) - 1
	for i >= 0 && s[i] != ':' {
		i--
	}
	if i < 0 {
		return "", 0, fmt.Errorf("transport: listen address %q: want host:port", s)
	}
	host = s[:i]
	if _, err := fmt.Sscanf(s[i+1:], "%d", &port); err != nil {
		return "", 0, fmt.Errorf("transport: listen address %q: bad port", s)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return host, port, nil
}

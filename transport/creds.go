package transport

import (
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
)

// ConnOptions say how to reach and authenticate to an external NATS server
// or cluster. At most one of user/password, token, NKey seed file and
// credentials file may be set; TLS files are independent of them.
type ConnOptions struct {
	// Name names the connection in the server's monitoring.
	Name string
	// User and Password authenticate with a user name.
	User, Password string
	// Token authenticates with a token.
	Token string
	// NKeyFile is a file holding an NKey seed (SU...).
	NKeyFile string
	// CredsFile is a JWT credentials file (decentralised auth).
	CredsFile string
	// TLSCA verifies the server with this CA bundle; TLSCert and TLSKey
	// present a client certificate.
	TLSCA, TLSCert, TLSKey string
}

// Options turns the settings into nats.go options, with unlimited
// reconnects (a cluster node restarting must not end a run).
func (o ConnOptions) Options() ([]nats.Option, error) {
	n := 0
	for _, set := range []bool{o.User != "" || o.Password != "", o.Token != "", o.NKeyFile != "", o.CredsFile != ""} {
		if set {
			n++
		}
	}
	if n > 1 {
		return nil, fmt.Errorf("transport: use one of user/password, token, nkey and creds")
	}
	if o.Password != "" && o.User == "" {
		return nil, fmt.Errorf("transport: a password needs a user")
	}
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return nil, fmt.Errorf("transport: a TLS client certificate needs both --tls-cert and --tls-key")
	}
	opts := []nats.Option{nats.MaxReconnects(-1), nats.ReconnectWait(250 * time.Millisecond), nats.PingInterval(5 * time.Second)}
	if o.Name != "" {
		opts = append(opts, nats.Name(o.Name))
	}
	switch {
	case o.User != "":
		opts = append(opts, nats.UserInfo(o.User, o.Password))
	case o.Token != "":
		opts = append(opts, nats.Token(o.Token))
	case o.NKeyFile != "":
		opt, err := nats.NkeyOptionFromSeed(o.NKeyFile)
		if err != nil {
			return nil, fmt.Errorf("transport: nkey %s: %w", o.NKeyFile, err)
		}
		opts = append(opts, opt)
	case o.CredsFile != "":
		opts = append(opts, nats.UserCredentials(o.CredsFile))
	}
	if o.TLSCA != "" {
		opts = append(opts, nats.RootCAs(o.TLSCA))
	}
	if o.TLSCert != "" {
		opts = append(opts, nats.ClientCert(o.TLSCert, o.TLSKey))
	}
	return opts, nil
}

// Connect opens a connection to url (one or more comma-separated server
// URLs) with o.
func Connect(url string, o ConnOptions) (*nats.Conn, error) {
	opts, err := o.Options()
	if err != nil {
		return nil, err
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("transport: connect to %s: %w", url, err)
	}
	return nc, nil
}

package feedbackclient

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// TLSOptions describe a TLS connection to the service, and the client
// certificate to present when the server asks for one (mTLS).
type TLSOptions struct {
	// CAFile holds the PEM certificates that may sign the server's; empty
	// means the system's roots.
	CAFile string
	// CertFile and KeyFile hold this client's certificate chain and private
	// key (PEM), for mTLS; both or neither.
	CertFile string
	KeyFile  string
	// ServerName is the name to verify in the server's certificate when it
	// differs from the target's host.
	ServerName string
}

// TLSFromEnv returns the TLS options of $FEEDBACK_CA_FILE,
// $FEEDBACK_CLIENT_CERT_FILE, $FEEDBACK_CLIENT_KEY_FILE and
// $FEEDBACK_SERVER_NAME, or nil (plaintext) when none of them is set.
func TLSFromEnv() *TLSOptions {
	opts := TLSOptions{
		CAFile:     os.Getenv("FEEDBACK_CA_FILE"),
		CertFile:   os.Getenv("FEEDBACK_CLIENT_CERT_FILE"),
		KeyFile:    os.Getenv("FEEDBACK_CLIENT_KEY_FILE"),
		ServerName: os.Getenv("FEEDBACK_SERVER_NAME"),
	}
	if opts == (TLSOptions{}) {
		return nil
	}
	return &opts
}

// DialOption returns the transport credentials of o, for New.
func (o TLSOptions) DialOption() (grpc.DialOption, error) {
	config := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: o.ServerName}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("feedbackclient: CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("feedbackclient: no PEM certificate in %s", o.CAFile)
		}
		config.RootCAs = pool
	}
	if (o.CertFile == "") != (o.KeyFile == "") {
		return nil, errors.New("feedbackclient: CertFile and KeyFile go together")
	}
	if o.CertFile != "" {
		pair, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("feedbackclient: client certificate: %w", err)
		}
		config.Certificates = []tls.Certificate{pair}
	}
	return grpc.WithTransportCredentials(credentials.NewTLS(config)), nil
}

// NewTLS creates a client for target over TLS (see New for the rest).
func NewTLS(target string, o TLSOptions, opts ...grpc.DialOption) (*Client, error) {
	creds, err := o.DialOption()
	if err != nil {
		return nil, err
	}
	return New(target, append([]grpc.DialOption{creds}, opts...)...)
}

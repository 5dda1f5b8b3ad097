package terminal

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Options configure a Client. A zero field means its default.
type Options struct {
	// ConnectTimeout bounds connecting (and the TLS handshake) when the
	// Dial context has no earlier deadline. Default 5 seconds.
	ConnectTimeout time.Duration
	// RequestTimeout is how long Send waits for an answer when its context
	// has no earlier deadline. Default 10 seconds.
	RequestTimeout time.Duration
	// TLSConfig, when non-nil, connects over TLS (set Certificates for
	// mutual TLS). Default nil: plain TCP.
	TLSConfig *tls.Config
	// Logger receives what cannot be returned to a caller: answers that
	// match no request, unreadable answers, connection errors. Default: discard.
	Logger *slog.Logger
	// Now returns the current time (field 7 of the messages the Client
	// builds). Default time.Now.
	Now func() time.Time
}

// Option sets an option; it returns an error for invalid values.
type Option func(*Options) error

// Defaults of Options.
const (
	DefaultConnectTimeout = 5 * time.Second
	DefaultRequestTimeout = 10 * time.Second
)

// errOption: an Option was given an invalid value.
var errOption = errors.New("termsim: invalid option")

// ConnectTimeout sets Options.ConnectTimeout (must be positive).
func ConnectTimeout(d time.Duration) Option {
	return positive("connect timeout", d, func(o *Options) *time.Duration { return &o.ConnectTimeout })
}

// RequestTimeout sets Options.RequestTimeout (must be positive).
func RequestTimeout(d time.Duration) Option {
	return positive("request timeout", d, func(o *Options) *time.Duration { return &o.RequestTimeout })
}

// positive is an Option that sets the duration field returns to d, which
// must be positive (else the error names what).
func positive(what string, d time.Duration, field func(*Options) *time.Duration) Option {
	return func(o *Options) error {
		if d <= 0 {
			return fmt.Errorf("%w: %s %v", errOption, what, d)
		}
		*field(o) = d
		return nil
	}
}

// WithTLS sets Options.TLSConfig.
func WithTLS(cfg *tls.Config) Option {
	return func(o *Options) error {
		o.TLSConfig = cfg
		return nil
	}
}

// WithLogger sets Options.Logger.
func WithLogger(l *slog.Logger) Option {
	return func(o *Options) error {
		o.Logger = l
		return nil
	}
}

// WithClock sets Options.Now.
func WithClock(now func() time.Time) Option {
	return func(o *Options) error {
		if now == nil {
			return fmt.Errorf("%w: nil clock", errOption)
		}
		o.Now = now
		return nil
	}
}

// buildOptions applies opts over the defaults.
func buildOptions(opts []Option) (Options, error) {
	o := Options{
		ConnectTimeout: DefaultConnectTimeout,
		RequestTimeout: DefaultRequestTimeout,
		Logger:         slog.New(slog.DiscardHandler),
		Now:            time.Now,
	}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return Options{}, err
		}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o, nil
}

// Package kgolog adapts a *slog.Logger to franz-go's kgo.Logger, so the Kafka
// client logs through the logger cardhost passes in (the kslog plugin module
// is not a dependency of cardhost).
//
// Ring: internal helper of the kafka adapters (kafka/outbox, kafka/consume).
// It imports only kgo and the standard library, never another cardhost
// package.
package kgolog

import (
	"context"
	"log/slog"

	"github.com/twmb/franz-go/pkg/kgo"
)

// New returns a kgo.Logger writing to l. kgo errors and warnings become slog
// errors and warnings; kgo's info and debug messages (connections, metadata
// refreshes, every flush) are chatty, so both become slog debug records and
// are only produced when l has debug enabled. A nil l discards everything.
// The logger is safe for concurrent use.
func New(l *slog.Logger) kgo.Logger {
	return logger{l}
}

type logger struct{ l *slog.Logger }

// Level implements kgo.Logger: the most verbose kgo level l would keep.
func (g logger) Level() kgo.LogLevel {
	switch {
	case g.l == nil:
		return kgo.LogLevelNone
	case g.l.Enabled(context.Background(), slog.LevelDebug):
		return kgo.LogLevelDebug
	case g.l.Enabled(context.Background(), slog.LevelWarn):
		return kgo.LogLevelWarn
	case g.l.Enabled(context.Background(), slog.LevelError):
		return kgo.LogLevelError
	}
	return kgo.LogLevelNone
}

// Log implements kgo.Logger.
func (g logger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	if g.l == nil {
		return
	}
	g.l.Log(context.Background(), slogLevel(level), msg, keyvals...)
}

// slogLevel maps a kgo level to the slog level it is logged at.
func slogLevel(level kgo.LogLevel) slog.Level {
	switch level {
	case kgo.LogLevelError:
		return slog.LevelError
	case kgo.LogLevelWarn:
		return slog.LevelWarn
	default:
		return slog.LevelDebug
	}
}

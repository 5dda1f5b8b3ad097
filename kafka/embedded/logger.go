package embedded

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/twmb/franz-go/pkg/kfake"
)

// logger adapts a *slog.Logger to kfake.Logger: kfake errors and warnings
// keep their level, its info and debug messages (one per request) become
// debug records. A nil slog logger discards everything.
type logger struct{ l *slog.Logger }

// Logf implements kfake.Logger.
func (g logger) Logf(level kfake.LogLevel, msg string, args ...any) {
	if g.l == nil {
		return
	}
	lvl := slog.LevelDebug
	switch level {
	case kfake.LogLevelError:
		lvl = slog.LevelError
	case kfake.LogLevelWarn:
		lvl = slog.LevelWarn
	}
	if !g.l.Enabled(context.Background(), lvl) {
		return
	}
	g.l.Log(context.Background(), lvl, fmt.Sprintf(msg, args...), "component", "embedded-kafka")
}

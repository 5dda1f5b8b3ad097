package kgolog

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

func TestLevelsAndOutput(t *testing.T) {
	for _, tc := range []struct {
		name      string
		slogLevel slog.Level
		wantLevel kgo.LogLevel
	}{
		{"debug keeps everything", slog.LevelDebug, kgo.LogLevelDebug},
		{"info keeps warnings", slog.LevelInfo, kgo.LogLevelWarn},
		{"warn keeps warnings", slog.LevelWarn, kgo.LogLevelWarn},
		{"error keeps errors", slog.LevelError, kgo.LogLevelError},
		{"above error keeps nothing", slog.LevelError + 4, kgo.LogLevelNone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			l := New(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: tc.slogLevel})))
			if got := l.Level(); got != tc.wantLevel {
				t.Fatalf("Level = %v, want %v", got, tc.wantLevel)
			}
			l.Log(kgo.LogLevelWarn, "produce failed", "broker", "1", "err", "boom")
			out := buf.String()
			wantWarn := tc.slogLevel <= slog.LevelWarn
			if got := strings.Contains(out, `level=WARN msg="produce failed" broker=1 err=boom`); got != wantWarn {
				t.Fatalf("warn logged = %v, want %v: %q", got, wantWarn, out)
			}
			buf.Reset()
			l.Log(kgo.LogLevelInfo, "flushing")
			if got := strings.Contains(buf.String(), "level=DEBUG msg=flushing"); got != (tc.slogLevel <= slog.LevelDebug) {
				t.Fatalf("info logged as debug = %v at %v: %q", got, tc.slogLevel, buf.String())
			}
		})
	}
}

func TestNilLogger(t *testing.T) {
	l := New(nil)
	if l.Level() != kgo.LogLevelNone {
		t.Fatal("nil logger must disable kgo logging")
	}
	l.Log(kgo.LogLevelError, "x") // must not panic
}

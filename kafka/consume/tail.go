package consume

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cardhost/cardhost/kafka"
)

// TailConfig configures [Tail].
type TailConfig struct {
	Config
	// Limit stops Tail after writing this many events; 0 means until ctx
	// ends.
	Limit int
	// Dedup drops events whose id was already written (within the last
	// DefaultDedupWindow ids).
	Dedup bool
	// SkipInvalid skips records that are not cardhost events instead of
	// stopping with an error.
	SkipInvalid bool
	// Notice, when set, receives one line when Tail starts waiting: how
	// many events the topic holds, and that it waits for new ones when it
	// has nothing to print yet. Tail then contacts the brokers first and
	// fails within ConnectTimeout when none answers, instead of waiting
	// silently.
	Notice io.Writer
	// ConnectTimeout bounds that first contact. Default 10 s.
	ConnectTimeout time.Duration
}

// Tail reads events (from the end of the topic unless cfg.FromBeginning)
// and writes each selected event to w as one line of JSON: the CloudEvents
// structured form, attributes and data together, e.g.
//
//	{"specversion":"1.0","id":"…","source":"/cardhost/host","type":"authorization.approved","subject":"crd_…","time":"…","datacontenttype":"application/json","tenantid":"ten_…","data":{…}}
//
// It returns nil when ctx ends or cfg.Limit events were written, and an
// error if the reader or the writer fails.
func Tail(ctx context.Context, cfg TailConfig, w io.Writer) error {
	if cfg.Notice != nil {
		if err := notice(ctx, cfg); err != nil {
			return err
		}
	}
	r, err := NewReader(ctx, cfg.Config)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	defer r.Close()
	var dedup *Dedup
	if cfg.Dedup {
		dedup = NewDedup(0)
	}
	enc := json.NewEncoder(w) // one value per line
	enc.SetEscapeHTML(false)
	for n := 0; cfg.Limit == 0 || n < cfg.Limit; {
		ev, err := r.Next(ctx)
		var de *DecodeError
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.As(err, &de) && cfg.SkipInvalid:
			continue
		case err != nil:
			return fmt.Errorf("tailing events: %w", err)
		}
		if dedup != nil && !dedup.First(ev.ID) {
			continue
		}
		if err := enc.Encode(ev); err != nil {
			return fmt.Errorf("writing event %s: %w", ev.ID, err)
		}
		n++
	}
	return nil
}

// notice tells cfg.Notice what Tail is about to wait for.
func notice(ctx context.Context, cfg TailConfig) error {
	timeout := cfg.ConnectTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	n, err := TopicSize(cctx, cfg.Config)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("reaching Kafka at %s: %w (%v)", strings.Join(cfg.Brokers, ","), ErrUnreachable, err)
	}
	topic := cfg.Topic
	if topic == "" {
		topic = kafka.Topic
	}
	switch {
	case n == 0:
		fmt.Fprintf(cfg.Notice, "topic %s at %s holds no events yet; waiting for new ones (Ctrl-C stops)\n", topic, strings.Join(cfg.Brokers, ","))
	case !cfg.FromBeginning:
		fmt.Fprintf(cfg.Notice, "topic %s holds %d records; waiting for new events (--from-beginning prints those too; Ctrl-C stops)\n", topic, n)
	}
	return nil
}

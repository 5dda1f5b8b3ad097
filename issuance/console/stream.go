package console

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/cardhost/cardhost/host"
	"github.com/cardhost/cardhost/issuance"
)

// The live authorization stream: the page shows the newest records
// (readable without JavaScript, with a reload link); htmx's SSE extension
// then opens /console/stream/events and puts each new record on top.
//
// The stream polls the records (every StreamPoll) rather than listening
// in memory, so that it shows what every instance decided. A record's id
// is taken at reception and it is committed a moment later, so each poll
// looks back streamLookback and skips the ids it already sent.

const (
	streamRows     = 50
	streamLookback = 10 * time.Second
	// streamBatch is the most records one poll sends.
	streamBatch = 200
)

type streamPage struct {
	Entries []host.FeedEntry
	After   string // the newest id shown: the event stream starts after it
}

func (co *Console) streamPage(c *fiber.Ctx) error {
	s := sessionOf(c)
	entries, err := co.deps.Records.LatestFeed(c.UserContext(), s.Tenant.ID, co.deps.Now().Add(-time.Hour), streamRows)
	if err != nil {
		return co.fail(c, err)
	}
	p := streamPage{Entries: entries}
	if len(entries) > 0 {
		p.After = entries[0].ID
	}
	return co.render(c, fiber.StatusOK, "stream", p)
}

// streamEvents is the server-sent event stream of the tenant's new
// records: one "authorization" event per record, whose data is the
// table row to insert and whose id is the record's id (a browser that
// reconnects sends it back as Last-Event-ID and resumes after it).
func (co *Console) streamEvents(c *fiber.Ctx) error {
	s := sessionOf(c)
	// Records up to after are on the page (or were sent before the
	// browser reconnected): the stream starts above it.
	after := c.Get("Last-Event-ID")
	if after == "" {
		after = c.Query("after")
	}
	if after != "" && !issuance.ValidID(issuance.AuthorizationIDPrefix, after) {
		after = ""
	}
	tenantID, row := s.Tenant.ID, co.pages.byName["stream"].Lookup("row")
	c.Set(fiber.HeaderContentType, "text/event-stream")
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set("X-Accel-Buffering", "no")
	conn := c.Context().Conn()
	start := co.deps.Now()
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		ctx, cancel := context.WithTimeout(context.Background(), co.cfg.StreamFor)
		defer cancel()
		sent := map[string]time.Time{}
		since := start.Add(-streamLookback)
		fmt.Fprintf(w, "retry: 1000\n\n")
		tick := time.NewTicker(co.cfg.StreamPoll)
		defer tick.Stop()
		for {
			// The HTTP server's write timeout is per answer: extend it
			// for every write of this long answer.
			_ = conn.SetWriteDeadline(time.Now().Add(30 * time.Second))
			if err := w.Flush(); err != nil {
				return // the browser went away
			}
			select {
			case <-ctx.Done():
				return
			case <-co.stop:
				return
			case <-tick.C:
			}
			now := co.deps.Now()
			entries, err := co.deps.Records.Feed(ctx, tenantID, since, after, streamBatch)
			if err != nil {
				co.log.Warn("console stream: reading records", "tenant_id", tenantID, "err", err)
				continue
			}
			for _, e := range entries {
				if _, ok := sent[e.ID]; ok {
					continue
				}
				sent[e.ID] = now
				var b bytes.Buffer
				if err := row.Execute(&b, e); err != nil {
					co.log.Error("console stream: rendering a row", "err", err)
					return
				}
				writeEvent(w, "authorization", e.ID, b.String())
			}
			// Look back from the last poll; forget what is out of reach.
			since = now.Add(-streamLookback)
			for id, at := range sent {
				if at.Before(since.Add(-streamLookback)) {
					delete(sent, id)
				}
			}
			fmt.Fprintf(w, ": keep-alive\n\n")
		}
	})
	return nil
}

// writeEvent writes one server-sent event; data may span lines.
func writeEvent(w *bufio.Writer, event, id, data string) {
	fmt.Fprintf(w, "event: %s\nid: %s\n", event, id)
	for _, line := range strings.Split(data, "\n") {
		fmt.Fprintf(w, "data: %s\n", line)
	}
	w.WriteString("\n")
}

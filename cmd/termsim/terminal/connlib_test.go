package terminal_test

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/moov-io/iso8583"
	connection "github.com/moov-io/iso8583-connection"

	"github.com/cardhost/cardhost/cmd/termsim/terminal"
	"github.com/cardhost/cardhost/cmd/termsim/terminal/terminaltest"
	"github.com/cardhost/cardhost/iso"
)

// TestLibraryClientLosesAnswersBeforeClose pins why termsim's Client is
// its own connection layer rather than moov-io/iso8583-connection's
// (v0.9.0, the version the module proxy serves here; docs/architecture.md,
// "Why not iso8583-connection"). A host that answers a request and then
// closes the connection (a switch failing over, a host shutting down
// gracefully) is the common case for a load generator and for an
// acquirer. The library hands the answer to one goroutine and the end of
// the stream to another, which fails every pending request while holding
// the pending-request lock: Send mostly reports the connection closed
// although its answer arrived, the goroutine holding the answer blocks
// forever on an unbuffered channel (one leak per lost answer), and now and
// then Send deadlocks against the error handler. Over the same traffic the
// Client delivers every answer. When a release of the library delivers
// them too, this test fails and says so: re-check the reason and move the
// Client onto the library.
func TestLibraryClientLosesAnswersBeforeClose(t *testing.T) {
	addr := answerThenClose(t)
	const rounds = 200
	libLost := 0
	for i := range rounds {
		c, err := connection.New(addr, iso.Spec, iso.ReadLength, iso.WriteLength,
			connection.SendTimeout(2*time.Second), connection.ErrorHandler(func(error) {}))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Connect(); err != nil {
			t.Fatal(err)
		}
		sent := make(chan error, 1)
		go func() { _, err := c.Send(echoRequest(i)); sent <- err }()
		select {
		case err = <-sent:
		case <-time.After(3 * time.Second):
			err = context.DeadlineExceeded // deadlocked: the goroutine stays blocked
		}
		if err != nil {
			libLost++
		}
		go c.Close() // may hang on the same lock; never waited for
	}
	if libLost == 0 {
		t.Fatalf("iso8583-connection delivered all %d answers sent before a close: re-check docs/architecture.md, \"Why not iso8583-connection\"", rounds)
	}

	ours := 0
	for i := range rounds {
		c, err := terminal.Dial(context.Background(), addr)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		if _, err := c.Send(ctx, echoRequest(i)); err != nil {
			t.Errorf("round %d: %v", i, err)
			ours++
		}
		cancel()
		c.Close()
	}
	t.Logf("answers lost before a close, of %d: iso8583-connection %d, termsim's Client %d", rounds, libLost, ours)
}

// answerThenClose is a host that answers the first request of each
// connection and closes it at once.
func answerThenClose(t *testing.T) string {
	return terminaltest.Serve(t, func(nc net.Conn) {
		m, err := terminaltest.ReadRequest(nc)
		if err != nil {
			return
		}
		if out, err := iso.Pack(terminaltest.Answer(m, iso.Approved)); err == nil {
			_ = iso.WriteFrame(nc, out)
		}
	})
}

// echoRequest is an 0800 echo test with the i-th STAN.
func echoRequest(i int) *iso8583.Message {
	m := iso.NewMessage(iso.MTINetworkRequest)
	_ = m.Field(iso.FieldTransmissionTime, iso.FormatTransmissionTime(time.Now().UTC()))
	_ = m.Field(iso.FieldSTAN, fmt.Sprintf("%06d", i+1))
	_ = m.Field(iso.FieldNetworkCode, iso.NetworkEcho)
	return m
}

package isoserver

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/moov-io/iso8583"
	connection "github.com/moov-io/iso8583-connection"
	"github.com/moov-io/iso8583-connection/server"

	"github.com/cardhost/cardhost/host"
	"github.com/cardhost/cardhost/iso"
)

// The tests in this file pin why the ISO server is its own connection
// layer rather than moov-io/iso8583-connection's server (v0.9.0, the
// version the module proxy serves here; docs/architecture.md, "Why not
// iso8583-connection"). Each runs the same traffic against the library's
// server and against ours, and asserts the library's behaviour as it is
// today: when a release of the library fixes it, the test fails and says
// so, and the reason in docs/architecture.md must be re-checked (and the
// server moved onto the library where nothing else stands in the way).

// libraryServer starts iso8583-connection's server with the host's spec
// and framing; handle is its inbound message handler.
func libraryServer(t *testing.T, handle func(c *connection.Connection, m *iso8583.Message)) string {
	t.Helper()
	s := server.New(iso.Spec, iso.ReadLength, iso.WriteLength,
		connection.InboundMessageHandler(handle), connection.ErrorHandler(func(error) {}))
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s.Addr
}

// answer replies to m with its response MTI and code 00.
func answer(c *connection.Connection, m *iso8583.Message) {
	mti, _ := m.GetMTI()
	r := iso.NewMessage(mti[:2] + string(mti[2]+1) + "0")
	stan, _ := m.GetString(iso.FieldSTAN)
	_ = r.Field(iso.FieldSTAN, stan)
	_ = r.Field(iso.FieldResponseCode, "00")
	_ = c.Reply(r)
}

// unreadable0100 is an 0100 whose amount holds a letter: its MTI and STAN
// are readable, field 4 is not.
func unreadable0100(t *testing.T) []byte {
	t.Helper()
	b, err := iso.Pack(authMessage("000501", "000000005000"))
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(b, []byte("000000005000"))
	b[i+11] = 'X'
	return b
}

// TestLibraryServerDropsUnreadableRequests: DESIGN.md answers a malformed
// request 30 on the same connection, so that the acquirer does not wait
// for its timeout and reverse. iso8583-connection's server drops a
// message it cannot unpack before any handler sees it: the acquirer gets
// no answer at all. An unreadable 0100 followed by an echo: the library's
// handler sees only the echo, cardhost's server answers both.
func TestLibraryServerDropsUnreadableRequests(t *testing.T) {
	var handled atomic.Int32
	lib := dial(t, libraryServer(t, func(c *connection.Connection, m *iso8583.Message) {
		handled.Add(1)
		answer(c, m)
	}))
	lib.sendRaw(unreadable0100(t))
	lib.send(networkMessage("000502", iso.NetworkEcho))
	if mti, _ := lib.recv().GetMTI(); mti != iso.MTINetworkResponse || handled.Load() != 1 {
		t.Fatalf("iso8583-connection's server now hands an unreadable request on (first answer %s, handler called %d times): "+
			"re-check docs/architecture.md, \"Why not iso8583-connection\"", mti, handled.Load())
	}

	ours := dial(t, startServer(t, Config{}, approveAll()).addr)
	ours.sendRaw(unreadable0100(t))
	ours.send(networkMessage("000502", iso.NetworkEcho))
	got := map[string]string{} // MTI -> response code, in whichever order they come
	for range 2 {
		r := ours.recv()
		mti, _ := r.GetMTI()
		got[mti] = str(r, iso.FieldResponseCode)
	}
	if got["0110"] != "30" || got[iso.MTINetworkResponse] != "00" {
		t.Fatalf("cardhost answered %v, want 0110 30 and 0810 00", got)
	}
}

// TestLibraryServerHasNoInFlightBound: cardhost decides at most
// Config.MaxInFlight requests of one connection at once and stops reading
// it until one is answered (TCP backpressure), so one acquirer cannot
// exhaust the host. iso8583-connection's server starts a goroutine per
// inbound message with no bound: 64 requests whose decision blocks are 64
// handlers running at once, against cardhost's 8.
func TestLibraryServerHasNoInFlightBound(t *testing.T) {
	const sent, bound = 64, 8
	var (
		libActive, libPeak atomic.Int32
		release            = make(chan struct{})
		once               sync.Once
	)
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	lib := dial(t, libraryServer(t, func(c *connection.Connection, m *iso8583.Message) {
		peak(&libPeak, libActive.Add(1))
		<-release
		libActive.Add(-1)
		answer(c, m)
	}))
	for i := range sent {
		lib.send(authMessage(stanOf(i), "000000001000"))
	}
	eventually(t, "every request handled at once by the library's server", func() bool { return libPeak.Load() == sent })
	once.Do(func() { close(release) })
	for range sent {
		lib.recv()
	}

	var active, ourPeak atomic.Int32
	unblock := make(chan struct{})
	ts := startServer(t, Config{MaxInFlight: bound}, &fakeEngine{decide: func(context.Context, *host.Request) (*host.Response, error) {
		peak(&ourPeak, active.Add(1))
		<-unblock
		active.Add(-1)
		return &host.Response{Decision: host.Approve}, nil
	}})
	ours := dial(t, ts.addr)
	for i := range sent {
		ours.send(authMessage(stanOf(i), "000000001000"))
	}
	eventually(t, "the connection's workers all busy", func() bool { return ourPeak.Load() == bound })
	close(unblock)
	for range sent {
		ours.recv()
	}
	if p := ourPeak.Load(); p != bound {
		t.Fatalf("cardhost decided %d requests of one connection at once, want at most %d", p, bound)
	}
}

// peak raises p to v when v is higher.
func peak(p *atomic.Int32, v int32) {
	for {
		old := p.Load()
		if v <= old || p.CompareAndSwap(old, v) {
			return
		}
	}
}

// stanOf is the STAN of the i-th test request.
func stanOf(i int) string { return fmt.Sprintf("%06d", 100+i) }

package isoserver

import (
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/cardhost/cardhost/iso"
)

// TestAbuseSlowClients: peers that start a message and then dribble it
// (half a length header, a header and nothing, bytes one at a time) are
// disconnected once ReadTimeout has passed since the message started,
// however long IdleTimeout is, while a normal client on another
// connection keeps getting fast answers.
func TestAbuseSlowClients(t *testing.T) {
	const readTimeout = 300 * time.Millisecond
	ts := startServer(t, Config{ReadTimeout: readTimeout, IdleTimeout: time.Minute}, approveAll())
	frame, err := iso.Pack(authMessage("000001", "000000001000"))
	if err != nil {
		t.Fatal(err)
	}
	n := len(frame)
	for _, tc := range []struct {
		name  string
		first []byte        // sent at once
		drip  []byte        // then one byte per tick
		tick  time.Duration // between dripped bytes
	}{
		{"half a length header", []byte{byte(n >> 8)}, nil, 0},
		{"length header only", []byte{byte(n >> 8), byte(n)}, nil, 0},
		{"header dribbled", nil, []byte{byte(n >> 8), byte(n)}, readTimeout},
		{"message dribbled", []byte{byte(n >> 8), byte(n)}, frame, readTimeout / 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := ts.metric(t, "cardhost_iso_connections_closed_total", "reason", closeReadTimeout)
			slow := dial(t, ts.addr)
			start := time.Now()
			if len(tc.first) > 0 {
				if _, err := slow.nc.Write(tc.first); err != nil {
					t.Fatal(err)
				}
			}
			stopDrip := make(chan struct{})
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				for _, b := range tc.drip {
					select {
					case <-stopDrip:
						return
					case <-time.After(tc.tick):
					}
					if _, err := slow.nc.Write([]byte{b}); err != nil {
						return
					}
				}
			}()

			// Meanwhile a normal client is answered at once, many times.
			normal := dial(t, ts.addr)
			for i := range 20 {
				t0 := time.Now()
				normal.echo(fmt.Sprintf("%06d", 100+i))
				if d := time.Since(t0); d > 100*time.Millisecond {
					t.Errorf("echo %d took %v while a slow client was connected", i, d)
				}
			}

			slow.expectClosed()
			took := time.Since(start)
			close(stopDrip)
			wg.Wait()
			if took > readTimeout+time.Second {
				t.Errorf("slow client closed after %v, want about the read timeout %v", took, readTimeout)
			}
			eventually(t, "the read-timeout close to be counted", func() bool {
				return ts.metric(t, "cardhost_iso_connections_closed_total", "reason", closeReadTimeout) == before+1
			})
		})
	}
}

// TestAbuseManySlowClients: many connections holding half a message use
// no request slots and are all cut at the read timeout; a normal client
// is answered fast throughout.
func TestAbuseManySlowClients(t *testing.T) {
	const readTimeout = 400 * time.Millisecond
	ts := startServer(t, Config{ReadTimeout: readTimeout, IdleTimeout: time.Minute, MaxConnections: 200}, approveAll())
	var slow []net.Conn
	for range 100 {
		c := dial(t, ts.addr)
		if _, err := c.nc.Write([]byte{0x01, 0x00, '0', '1'}); err != nil { // 256 bytes announced, 2 sent
			t.Fatal(err)
		}
		slow = append(slow, c.nc)
	}
	normal := dial(t, ts.addr)
	deadline := time.Now().Add(readTimeout + 300*time.Millisecond)
	for i := 0; time.Now().Before(deadline); i++ {
		t0 := time.Now()
		normal.send(authMessage(fmt.Sprintf("%06d", i+1), "000000001000"))
		if r := normal.recv(); str(r, iso.FieldResponseCode) != "00" {
			t.Fatalf("normal client answered %s", str(r, iso.FieldResponseCode))
		}
		if d := time.Since(t0); d > 100*time.Millisecond {
			t.Errorf("request %d took %v among 100 slow clients", i, d)
		}
	}
	eventually(t, "every slow client to be cut", func() bool {
		return ts.metric(t, "cardhost_iso_connections_closed_total", "reason", closeReadTimeout) == float64(len(slow))
	})
	if got := ts.metric(t, "cardhost_iso_connections_open"); got != 1 {
		t.Errorf("%v connections open, want only the normal client", got)
	}
}

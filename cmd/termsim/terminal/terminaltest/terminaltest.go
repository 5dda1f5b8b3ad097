// Package terminaltest holds the test doubles and test cards shared by the
// tests of termsim's packages (terminal, loadgen, scenario): scripted ISO
// 8583 hosts on 127.0.0.1:0, chip cards derived from a published test
// issuer master key, and the sandbox personalisation vector. Like
// net/http/httptest it is imported by tests only.
//
// Ring: test support beside the adapter it serves. It may import
// cmd/termsim/terminal, iso, emv and emv/tlv; it must not import host,
// loadgen or scenario (their internal tests import it).
package terminaltest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/moov-io/iso8583"

	"github.com/cardhost/cardhost/cmd/termsim/terminal"
	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/emv/tlv"
	"github.com/cardhost/cardhost/iso"
)

// IMK is the issuer master key of pyemv's CVN examples
// (testdata/vectors/cvn.json); test cards derive their MK-AC from it.
const IMK = "0123456789ABCDEFFEDCBA9876543210"

// CVK is the CVK pair of emv's CVV examples.
const CVK = "0123456789ABCDEFFEDCBA9876543210"

// Date is the fixed transaction date of the tests.
var Date = time.Date(2026, 6, 21, 14, 30, 5, 0, time.UTC)

// MustHex decodes s or fails the test.
func MustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := emv.DecodeHex(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// MasterKey returns the ICC master key (MK-AC) of pan, PSN 01, derived from
// IMK.
func MasterKey(t testing.TB, pan string) []byte {
	t.Helper()
	mk, err := emv.DeriveICCMasterKey(MustHex(t, IMK), pan, "01")
	if err != nil {
		t.Fatal(err)
	}
	return mk
}

// CardSpec returns a chip card of the given CVN whose MK-AC is derived
// from IMK and whose CVVs are computed with CVK, as data prep would.
func CardSpec(t testing.TB, network string, cvn int) terminal.CardSpec {
	t.Helper()
	pan := "4761739001010010"
	switch network {
	case string(emv.NetworkMastercard):
		pan = "5413330089020011"
	case string(emv.NetworkUnionPay):
		pan = "6227000001000011"
	}
	mk := MasterKey(t, pan)
	cvk := MustHex(t, CVK)
	cvv, _ := emv.GenerateCVV(cvk, pan, "3012", "201")
	icvv, _ := emv.GenerateICVV(cvk, pan, "3012")
	cvv2, _ := emv.GenerateCVV2(cvk, pan, "3012")
	return terminal.CardSpec{
		ID: "crd_test", PAN: pan, Expiry: "3012", PSN: "01", Network: network, CVN: cvn,
		ICCMasterKeyAC: emv.EncodeHex(mk), CVV: cvv.Reveal(), ICVV: icvv.Reveal(), CVV2: cvv2.Reveal(),
		PIN: "1234", PVKI: "1", PVV: "4321",
	}
}

// Card returns the card of CardSpec.
func Card(t testing.TB, network string, cvn int) *terminal.Card {
	t.Helper()
	c, err := terminal.NewCard(CardSpec(t, network, cvn))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// RegistryCards returns one test card per CVN of emv's registry, by the
// CVN's name.
func RegistryCards(t testing.TB) map[string]*terminal.Card {
	out := map[string]*terminal.Card{}
	for _, cvn := range emv.CVNs() {
		network, err := emv.ParseNetwork(string(cvn.Scheme))
		if err != nil {
			t.Fatal(err)
		}
		out[cvn.String()] = Card(t, string(network), cvn.Number)
	}
	return out
}

// IssuerAnswer builds the response field 55 an issuer answers with: tag 91
// per the CVN's method, for response code code.
func IssuerAnswer(t testing.TB, cr *terminal.ChipRequest, iccMK []byte, code iso.ResponseCode) []byte {
	t.Helper()
	l, _ := tlv.Decode(cr.Field55)
	tags, _ := l.Map()
	f55, err := arpcField55(cr.CVN(), iccMK, tags, code)
	if err != nil {
		t.Fatal(err)
	}
	return f55
}

// arpcField55 is the response field 55 (tag 91) for an ARQC's tags.
func arpcField55(cvn emv.CVN, mk []byte, tags map[tlv.Tag][]byte, code iso.ResponseCode) ([]byte, error) {
	in := emv.ARPCInput{ARC: emv.ARC(string(code))}
	if cvn.ARPCMethod == 2 {
		in = emv.ARPCInput{CSU: emv.CSU(code.Approved())}
	}
	arpc, err := emv.GenerateARPC(cvn, mk, tags, in)
	if err != nil {
		return nil, err
	}
	iad, err := emv.IssuerAuthenticationData(cvn, arpc, in)
	if err != nil {
		return nil, err
	}
	return tlv.ResponseICC(iad)
}

// Serve listens on 127.0.0.1:0 until the test ends and runs handle for
// every connection, each in its own goroutine; a connection is closed when
// its handle returns or the test ends. It returns the address.
func Serve(t testing.TB, handle func(nc net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns = map[net.Conn]bool{}
	)
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for nc := range conns {
			nc.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[nc] = true
			mu.Unlock()
			wg.Go(func() {
				defer nc.Close()
				handle(nc)
			})
		}
	})
	return ln.Addr().String()
}

// ClosedPort returns a loopback address nothing listens on (free for a
// moment).
func ClosedPort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// ScriptedHost is a raw TCP host on 127.0.0.1:0 until the test ends:
// answer decides, per request, the answer to write (nil: none). It returns
// the host's address.
func ScriptedHost(t testing.TB, answer func(req *iso8583.Message) *iso8583.Message) string {
	t.Helper()
	return Serve(t, func(nc net.Conn) {
		for {
			m, err := ReadRequest(nc)
			if err != nil {
				return
			}
			if r := answer(m); r != nil {
				p, err := iso.Pack(r)
				if err != nil {
					t.Error(err)
					return
				}
				if err := iso.WriteFrame(nc, p); err != nil {
					return
				}
			}
		}
	})
}

// ClosedWithin waits for the peer to close conn (EOF or reset; bytes it
// sends first are read and ignored) and reports how long it took, or
// false when it is still open after limit.
func ClosedWithin(conn net.Conn, limit time.Duration) (time.Duration, bool) {
	start := time.Now()
	conn.SetReadDeadline(start.Add(limit))
	buf := make([]byte, 4096)
	for {
		if _, err := conn.Read(buf); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				return time.Since(start), false
			}
			return time.Since(start), true
		}
	}
}

// ReadRequest reads one framed message from nc and unpacks it.
func ReadRequest(nc net.Conn) (*iso8583.Message, error) {
	b, err := iso.ReadFrame(nc, nil)
	if err != nil {
		return nil, err
	}
	return iso.Unpack(b)
}

// Answer is the answer to req with response code code: the response MTI
// and the request's terminal.EchoFields, as a bare server answers.
func Answer(req *iso8583.Message, code iso.ResponseCode) *iso8583.Message {
	mti, _ := req.GetMTI()
	respMTI, _ := iso.ResponseMTI(mti)
	r := iso.NewMessage(respMTI)
	for _, id := range terminal.EchoFields {
		if v, _ := req.GetString(id); v != "" {
			_ = r.Field(id, v)
		}
	}
	_ = r.Field(iso.FieldResponseCode, string(code))
	return r
}

// EchoHost is a ScriptedHost that answers every request 00 with its echoed
// fields and nothing else (no approval code, no ARPC), as the bare server
// of `termsim load --baseline` does.
func EchoHost(t testing.TB) string {
	t.Helper()
	return ScriptedHost(t, func(req *iso8583.Message) *iso8583.Message { return Answer(req, iso.Approved) })
}

// IssuerHost is a scripted issuer: it verifies the ARQC of chip requests
// with IMK and answers code (with tag 91 when the ARQC verified), the
// approval code on approvals and the echoed fields.
func IssuerHost(t testing.TB, decide func(req *iso8583.Message) iso.ResponseCode) string {
	t.Helper()
	return ScriptedHost(t, func(req *iso8583.Message) *iso8583.Message {
		code := decide(req)
		r := Answer(req, code)
		if code.Approved() {
			_ = r.Field(iso.FieldApprovalCode, "A1B2C3")
		}
		if f55, _ := req.GetBytes(iso.FieldICC); len(f55) > 0 {
			pan, _ := req.GetString(iso.FieldPAN)
			cvn, mk, tags, ok := verifyARQC(t, pan, f55)
			if ok {
				out, _ := arpcField55(cvn, mk, tags, code)
				_ = r.BinaryField(iso.FieldICC, out)
			}
		}
		return r
	})
}

// verifyARQC reads field 55 and verifies its ARQC under IMK for pan.
func verifyARQC(t testing.TB, pan string, f55 []byte) (emv.CVN, []byte, map[tlv.Tag][]byte, bool) {
	l, err := tlv.Decode(f55)
	if err != nil {
		return emv.CVN{}, nil, nil, false
	}
	tags, _ := l.Map()
	network, _ := emv.NetworkOf(pan)
	scheme := string(network.Scheme())
	iad, err := emv.ParseIAD(scheme, tags[tlv.TagIssuerApplicationData])
	if err != nil {
		return emv.CVN{}, nil, nil, false
	}
	cvn, err := emv.LookupCVNCode(scheme, iad.CVN)
	if err != nil {
		return emv.CVN{}, nil, nil, false
	}
	mk, _ := emv.DeriveICCMasterKey(MustHex(t, IMK), pan, "01")
	ok, _ := emv.VerifyARQC(cvn, mk, tags)
	return cvn, mk, tags, ok
}

// ARQCVerifies reports whether field 55 holds an ARQC that verifies under
// IMK for the card pan.
func ARQCVerifies(t testing.TB, pan string, f55 []byte) bool {
	_, _, _, ok := verifyARQC(t, pan, f55)
	return ok
}

// Dial connects a client to addr, closed when the test ends.
func Dial(t testing.TB, addr string, opts ...terminal.Option) *terminal.Client {
	t.Helper()
	c, err := terminal.Dial(context.Background(), addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// PersoVector is terminal's testdata/perso_sandbox.json: a record sealed
// by the software HSM's sandbox export under the sandbox transport key.
type PersoVector struct {
	CardID string `json:"card_id"`
	Sealed string `json:"sealed"`
	Expect struct {
		PAN, Expiry, PSN, Network, CVV2, PIN string
		CVN                                  int
		IMKAC                                string `json:"imk_ac"`
	} `json:"expect"`
}

// LoadPersoVector reads the PersoVector at path.
func LoadPersoVector(t testing.TB, path string) PersoVector {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v PersoVector
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// RoundTrips is the raw-TCP load driver of the round-trip benchmarks (the
// host's ISO server and the bare server run the same one, so their
// figures compare): conns connections to addr each keep window requests
// in flight, b.N in all, cycling through 65,536 packed messages msg(stan)
// so that the loop measures the server. It reports auths/s and the p50
// and p99 round trip.
func RoundTrips(b *testing.B, addr string, conns, window int, msg func(stan string) *iso8583.Message) {
	const stans = 1 << 16
	msgs := make([][]byte, stans)
	for i := range msgs {
		p, err := iso.Pack(msg(fmt.Sprintf("%06d", i)))
		if err != nil {
			b.Fatal(err)
		}
		msgs[i], _ = iso.AppendFrame(nil, p)
	}
	per := (b.N + conns - 1) / conns
	latencies := make([][]time.Duration, conns)
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for ci := range conns {
		wg.Go(func() {
			nc, err := net.Dial("tcp", addr)
			if err != nil {
				b.Error(err)
				return
			}
			defer nc.Close()
			sent := make([]time.Time, stans)
			lat := make([]time.Duration, 0, per)
			sem := make(chan struct{}, window)
			done := make(chan struct{})
			go func() {
				defer close(done)
				br := bufio.NewReader(nc)
				for range per {
					frame, err := iso.ReadFrame(br, nil)
					if err != nil {
						b.Error(err)
						return
					}
					// STAN at a fixed offset would be faster; unpacking
					// keeps the client honest about the response format.
					m, err := iso.Unpack(frame)
					if err != nil {
						b.Error(err)
						return
					}
					stan, _ := m.GetString(iso.FieldSTAN)
					n, _ := strconv.Atoi(stan)
					lat = append(lat, time.Since(sent[n]))
					<-sem
				}
			}()
			for i := range per {
				sem <- struct{}{}
				sent[i%stans] = time.Now()
				if _, err := nc.Write(msgs[i%stans]); err != nil {
					b.Error(err)
					break
				}
			}
			<-done
			latencies[ci] = lat
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	all := slices.Concat(latencies...)
	if len(all) == 0 {
		return
	}
	slices.Sort(all)
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "auths/s")
	b.ReportMetric(float64(all[len(all)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "p99-µs")
}

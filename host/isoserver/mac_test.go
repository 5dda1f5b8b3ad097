package isoserver

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/host"
	"github.com/cardhost/cardhost/iso"
)

// fakeAcquirers is an Acquirers over a map.
type fakeAcquirers map[string]host.Acquirer

func (f fakeAcquirers) Acquirer(_ context.Context, id string) (host.Acquirer, error) {
	if a, ok := f[id]; ok {
		return a, nil
	}
	return host.Acquirer{}, host.ErrNotFound
}

// clearMACer is a MACer with one clear key, version 1, for unit tests (the
// server's real MACer is the HSM).
type clearMACer struct{ key []byte }

func (c clearMACer) VerifyMAC(_ context.Context, _ string, data, mac []byte) (int, error) {
	want, err := emv.MACAlgorithm3(c.key, data, emv.PaddingMethod2)
	if err != nil {
		return 0, err
	}
	if subtle.ConstantTimeCompare(want, mac) == 1 {
		return 1, nil
	}
	return 0, nil
}

func (c clearMACer) GenerateMAC(_ context.Context, _ string, _ int, data []byte) ([]byte, error) {
	return emv.MACAlgorithm3(c.key, data, emv.PaddingMethod2)
}

// The ISO/IEC 9797-1 Annex B key, K || K'.
var annexBKey = []byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF, 0xFE, 0xDC, 0xBA, 0x98, 0x76, 0x54, 0x32, 0x10}

// An 0800 echo test of acquirer 87654321 and its 0810, written out by hand
// (docs/iso8583.md sections 2 and 5.15): MTI, primary bitmap (bits 1, 7,
// 11, 32; and 39 in the answer), secondary bitmap (bits 70 and 128), then
// fields 7, 11, 32 (LL), 39 and 70. The MACs are ISO/IEC 9797-1 MAC
// algorithm 3, padding method 2, under K = 0123456789ABCDEF,
// K' = FEDCBA9876543210 of everything before field 128, computed outside
// Go with OpenSSL's single DES:
//
//	padded = data || 80 || 00... (to a multiple of 8 bytes)
//	H  = last block of openssl enc -des-cbc -K K -iv 0000000000000000 -nopad
//	H' = openssl enc -d -des-ecb -K K' -nopad of H
//	MAC = openssl enc -des-ecb -K K -nopad of H'
//
// The same procedure gives E9086230CA3BE796 for "Now is the time for all ",
// whose first 4 bytes ISO/IEC 9797-1 Annex B publishes (E9086230,
// testdata/vectors/iso9797_mac.json).
const (
	handEcho       = "0800" + "8220000100000000" + "0400000000000001" + "0101120000" + "000001" + "0887654321" + "301"
	handEchoMAC    = "9AE0EC6B40931AC4"
	handEchoAnswer = "0810" + "8220000102000000" + "0400000000000001" + "0101120000" + "000001" + "0887654321" + "00" + "301"
	handAnswerMAC  = "50A5065136FB87C2"
)

// TestMACHandComputed: the server accepts the hand-MACed echo test and
// answers with the hand-MACed 0810, byte for byte; a MAC off by one bit,
// or none, is answered 63, MACed too.
func TestMACHandComputed(t *testing.T) {
	m := iso.NewMessage(iso.MTINetworkRequest)
	for id, v := range map[int]string{iso.FieldTransmissionTime: "0101120000", iso.FieldSTAN: "000001", iso.FieldAcquirerID: "87654321",
		iso.FieldNetworkCode: iso.NetworkEcho, iso.FieldSecondaryMAC: handEchoMAC} {
		_ = m.Field(id, v)
	}
	if b, err := iso.Pack(m); err != nil || string(b) != handEcho+handEchoMAC {
		t.Fatalf("the codec packs %q (%v), the hand-written message is %q", b, err, handEcho+handEchoMAC)
	}
	ts := startServer(t, Config{
		Acquirers: fakeAcquirers{"87654321": {ID: "87654321", ZAKRef: "zak", MACRequired: true}},
		MAC:       clearMACer{annexBKey},
	}, &fakeEngine{decide: func(context.Context, *host.Request) (*host.Response, error) {
		return nil, errors.New("0800 does not reach the engine")
	}})
	c := dial(t, ts.addr)
	recvRaw := func() []byte {
		t.Helper()
		c.nc.SetReadDeadline(time.Now().Add(2 * time.Second))
		b, err := iso.ReadFrame(c.nc, nil)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	c.sendRaw([]byte(handEcho + handEchoMAC))
	if got := recvRaw(); string(got) != handEchoAnswer+handAnswerMAC {
		t.Fatalf("answer\n%s\nwant\n%s", got, handEchoAnswer+handAnswerMAC)
	}
	for name, msg := range map[string]string{
		"MAC off by one bit": handEcho + handEchoMAC[:15] + "5",
		"no MAC":             "0800" + "8220000100000000" + "0400000000000000" + "0101120000" + "000001" + "0887654321" + "301",
	} {
		c.sendRaw([]byte(msg))
		got := recvRaw()
		r, err := iso.Unpack(got)
		if err != nil {
			t.Fatal(err)
		}
		data, mac, present, err := iso.MACInput(got)
		if err != nil || !present {
			t.Fatalf("%s: answer without MAC (%v)", name, err)
		}
		want, _ := emv.MACAlgorithm3(annexBKey, data, emv.PaddingMethod2)
		if str(r, iso.FieldResponseCode) != "63" || string(mac) != emv.EncodeHex(want) {
			t.Fatalf("%s: answered %s with MAC %s", name, str(r, iso.FieldResponseCode), mac)
		}
	}
	if got := ts.metric(t, "cardhost_iso_decisions_total", "reason", "mac_invalid"); got != 1 {
		t.Errorf("decisions{mac_invalid} = %v, want 1", got)
	}
	if got := ts.metric(t, "cardhost_iso_decisions_total", "reason", "mac_missing"); got != 1 {
		t.Errorf("decisions{mac_missing} = %v, want 1", got)
	}
}

// TestMACRefusalsReachTheEngine: a card request that fails message
// authentication goes to the engine marked Refused (so that it is
// recorded), one that passes unmarked; the answers of a MAC acquirer carry
// a MAC, in field 64, those of others none; an acquirer the server does
// not know, or a failing look-up, are handled as documented.
func TestMACRefusalsReachTheEngine(t *testing.T) {
	var mu sync.Mutex
	var refused []host.Reason
	lookupErr := errors.New("acquirers unavailable")
	acqs := fakeAcquirers{
		"87654321": {ID: "87654321", ZAKRef: "zak", MACRequired: true},
		"55555555": {ID: "55555555", ZAKRef: "zak"}, // MACs optional
		"12345678": {ID: "12345678"},
	}
	ts := startServer(t, Config{Acquirers: failing{acqs, "99999999", lookupErr}, MAC: clearMACer{annexBKey}},
		&fakeEngine{decide: func(_ context.Context, req *host.Request) (*host.Response, error) {
			mu.Lock()
			refused = append(refused, req.Refused)
			mu.Unlock()
			if req.Refused != "" {
				return &host.Response{Decision: host.Decline(req.Refused)}, nil
			}
			return &host.Response{Decision: host.Approve, Amount: req.Amount, ApprovalCode: "A00001"}, nil
		}})
	c := dial(t, ts.addr)
	mac := func(data []byte) ([]byte, error) { return emv.MACAlgorithm3(annexBKey, data, emv.PaddingMethod2) }
	for i, tc := range []struct {
		name      string
		acquirer  string
		mac       func([]byte) ([]byte, error)
		code      string
		refused   host.Reason
		answerMAC bool
	}{
		{"good MAC", "87654321", mac, "00", "", true},
		{"no MAC, required", "87654321", nil, "63", host.ReasonMACMissing, true},
		{"wrong key", "87654321", func(d []byte) ([]byte, error) {
			return emv.MACAlgorithm3(append(append([]byte(nil), annexBKey[8:]...), annexBKey[:8]...), d, emv.PaddingMethod2)
		}, "63", host.ReasonMACInvalid, true},
		{"no MAC, optional", "55555555", nil, "00", "", false},
		{"MAC, optional", "55555555", mac, "00", "", true},
		{"MAC without ZAK", "12345678", mac, "63", host.ReasonMACInvalid, false},
		{"unknown acquirer", "77777777", nil, "00", "", false},
		{"look-up fails", "99999999", mac, "96", "skip", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := authMessage(string(rune('0'+i))+"00001", "000000001000")
			_ = m.Field(iso.FieldAcquirerID, tc.acquirer)
			var b []byte
			var err error
			if tc.mac != nil {
				b, err = iso.PackMAC(m, tc.mac)
			} else {
				b, err = iso.Pack(m)
			}
			if err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			n := len(refused)
			mu.Unlock()
			c.sendRaw(b)
			c.nc.SetReadDeadline(time.Now().Add(2 * time.Second))
			got, err := iso.ReadFrame(c.nc, nil)
			if err != nil {
				t.Fatal(err)
			}
			r, err := iso.Unpack(got)
			if err != nil {
				t.Fatal(err)
			}
			if code := str(r, iso.FieldResponseCode); code != tc.code {
				t.Fatalf("answered %s, want %s", code, tc.code)
			}
			data, f64, present, _ := iso.MACInput(got)
			if present != tc.answerMAC {
				t.Fatalf("answer MAC present %v, want %v", present, tc.answerMAC)
			}
			if present {
				want, _ := mac(data)
				if str(r, iso.FieldMAC) == "" || string(f64) != emv.EncodeHex(want) {
					t.Fatalf("answer MAC %s in field 64 %q", f64, str(r, iso.FieldMAC))
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if tc.refused == "skip" {
				if len(refused) != n {
					t.Fatal("a request whose acquirer could not be read reached the engine")
				}
				return
			}
			if len(refused) != n+1 || refused[n] != tc.refused {
				t.Fatalf("engine saw Refused %v, want %q", refused[n:], tc.refused)
			}
		})
	}
	if !bytes.Contains([]byte(ts.logs.String()), []byte("message authentication failed")) {
		t.Error("refusals are not logged")
	}
}

// failing is an Acquirers that fails for one id.
type failing struct {
	fakeAcquirers
	id  string
	err error
}

func (f failing) Acquirer(ctx context.Context, id string) (host.Acquirer, error) {
	if id == f.id {
		return host.Acquirer{}, f.err
	}
	return f.fakeAcquirers.Acquirer(ctx, id)
}

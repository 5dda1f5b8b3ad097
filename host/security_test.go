package host_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/emv/pinblock"
	"github.com/cardhost/cardhost/iso"
	"github.com/cardhost/cardhost/kafka"
)

// macUnder returns the acquirer's side of message authentication: the
// ISO/IEC 9797-1 MAC algorithm 3 (padding method 2) under the clear key.
func macUnder(t testing.TB, key []byte) func([]byte) ([]byte, error) {
	return func(data []byte) ([]byte, error) { return emv.MACAlgorithm3(key, data, emv.PaddingMethod2) }
}

// sendMAC sends m with a MAC made by mac (nil: as built, with whatever MAC
// field it has) and returns the answer and its bytes as received.
func (e *hostEnv) sendMAC(m *iso8583.Message, mac func([]byte) ([]byte, error)) (answer, []byte) {
	e.t.Helper()
	if mac != nil {
		if _, err := iso.PackMAC(m, mac); err != nil {
			e.t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	resp, raw, err := e.client.SendRaw(ctx, m)
	if err != nil {
		e.t.Fatalf("send: %v", err)
	}
	code, _ := resp.GetString(iso.FieldResponseCode)
	return answer{code: code}, raw
}

// answerMACVersion returns the version of the env's ZAK the answer's MAC
// verifies under (0: none), and whether the answer carries a MAC.
func (e *hostEnv) answerMACVersion(raw []byte) (int, bool) {
	e.t.Helper()
	data, mac, present, err := iso.MACInput(raw)
	if err != nil {
		e.t.Fatal(err)
	}
	if !present {
		return 0, false
	}
	rawMAC, err := emv.DecodeHex(string(mac))
	if err != nil {
		e.t.Fatal(err)
	}
	v, err := e.hsm.VerifyMAC(context.Background(), e.keys[emv.KeyZAK], data, rawMAC)
	if err != nil {
		e.t.Fatal(err)
	}
	return v, true
}

// lastRecord returns the newest authorization record of a card: its
// response code and reason.
func (e *hostEnv) lastRecord(cardID string) (code, reason string) {
	e.t.Helper()
	err := e.db.Pool().QueryRow(context.Background(), `SELECT response_code, reason FROM authorizations WHERE card_id = $1
		ORDER BY decided_at DESC, id DESC LIMIT 1`, cardID).Scan(&code, &reason)
	if err != nil {
		e.t.Fatal(err)
	}
	return code, reason
}

// eventReason returns the type and reason of a card's newest event.
func (e *hostEnv) eventReason(cardID string) (string, string) {
	e.t.Helper()
	ev := e.lastEvent(cardID)
	var data struct {
		Reason string `json:"reason"`
	}
	if err := json.Unmarshal(ev.Data, &data); err != nil {
		e.t.Fatal(err)
	}
	return ev.Type, data.Reason
}

// decisions returns cardhost_iso_decisions_total{reason}.
func decisions(t *testing.T, reg *prometheus.Registry, reason string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "cardhost_iso_decisions_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" && l.GetValue() == reason {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// TestPINBlockFormat1NeedsTheAcquirer: a PIN block in ISO format 1 (not
// bound to the PAN) from an acquirer configured for formats 0 and 3 (the
// default) is refused 63 pin_block_format_not_allowed, right PIN or wrong,
// without counting a PIN try, recorded and published with its reason;
// formats 0 and 3 verify as before, and an acquirer configured for format 1
// gets it verified (issue 12, point 10).
func TestPINBlockFormat1NeedsTheAcquirer(t *testing.T) {
	e := newHostEnv(t)
	card := e.newCard(cardOpts{pin: "4321"})
	mag := func(f pinblock.Format, pin, acquirer string) string {
		t.Helper()
		return e.auth(card, msg{entry: "901", track2: track2(t, card, true), pinBlock: pinBlockIn(t, f, pin, card.PAN), acquirer: acquirer}).code
	}
	for _, pin := range []string{"4321", "0000"} {
		if code := mag(pinblock.Format1, pin, acquirerID); code != "63" {
			t.Fatalf("format 1 (PIN %s) from an acquirer for formats 0 and 3 answered %s, want 63", pin, code)
		}
		if code, reason := e.lastRecord(card.ID); code != "63" || reason != "pin_block_format_not_allowed" {
			t.Fatalf("record: %s %s", code, reason)
		}
		if typ, reason := e.eventReason(card.ID); typ != kafka.TypeAuthorizationDeclined || reason != "pin_block_format_not_allowed" {
			t.Fatalf("event: %s %s", typ, reason)
		}
	}
	if _, total, tries := e.cardState(card.ID); tries != 0 || total != 0 {
		t.Fatalf("refused format: pin_tries %d, total %d; want 0, 0", tries, total)
	}
	if got := decisions(t, e.reg, "pin_block_format_not_allowed"); got != 2 {
		t.Fatalf("decisions{pin_block_format_not_allowed} = %v, want 2", got)
	}
	for _, f := range []pinblock.Format{pinblock.Format0, pinblock.Format3} {
		if code := mag(f, "4321", acquirerID); code != "00" {
			t.Fatalf("format %d answered %s", f, code)
		}
	}
	if code := mag(pinblock.Format1, "4321", format1AcquirerID); code != "00" {
		t.Fatalf("format 1 from an acquirer allowed it answered %s", code)
	}
	if code := mag(pinblock.Format1, "0000", format1AcquirerID); code != "55" {
		t.Fatalf("wrong PIN in format 1 from an acquirer allowed it answered %s, want 55", code)
	}
}

// TestMessageAuthentication: an acquirer with a ZAK that requires MACs
// gets field 64 (128 with a secondary bitmap) verified on every request
// and set on every answer; a wrong or missing MAC is refused 63
// (mac_invalid, mac_missing), recorded and published as a decline of the
// card, changes nothing, is counted, and does not take the request's
// match key; a MAC from an acquirer without a ZAK is refused too; a
// repeat MACed again is the same content (issue 12, point 9).
func TestMessageAuthentication(t *testing.T) {
	e := newHostEnv(t)
	card := e.newCard(cardOpts{})
	good := macUnder(t, clearZAK)
	mag := func(stan string) msg {
		return msg{entry: "901", track2: track2(t, card, true), acquirer: macAcquirerID, stan: stan}
	}

	// A good MAC: approved, the answer MACed under the ZAK.
	a, raw := e.sendMAC(e.build(card, mag("")), good)
	if a.code != "00" {
		t.Fatalf("good MAC answered %s", a.code)
	}
	if v, present := e.answerMACVersion(raw); !present || v != 1 {
		t.Fatalf("answer MAC: present %v, version %d", present, v)
	}
	_, spent, _ := e.cardState(card.ID)

	// A wrong MAC: 63 mac_invalid, recorded and published, nothing spent,
	// the answer still MACed.
	wrongReq := e.build(card, mag("700001"))
	if _, err := iso.PackMAC(wrongReq, good); err != nil {
		t.Fatal(err)
	}
	rightMAC, _ := wrongReq.GetString(iso.FieldMAC)
	_ = wrongReq.Field(iso.FieldMAC, strings.Repeat("0", 15)+"1")
	a, raw = e.sendMAC(wrongReq, nil)
	if a.code != "63" {
		t.Fatalf("wrong MAC answered %s, want 63", a.code)
	}
	if v, present := e.answerMACVersion(raw); !present || v != 1 {
		t.Fatalf("answer to a wrong MAC: MAC present %v, version %d", present, v)
	}
	if code, reason := e.lastRecord(card.ID); code != "63" || reason != "mac_invalid" {
		t.Fatalf("record: %s %s", code, reason)
	}
	if typ, reason := e.eventReason(card.ID); typ != kafka.TypeAuthorizationDeclined || reason != "mac_invalid" {
		t.Fatalf("event: %s %s", typ, reason)
	}
	if _, total, _ := e.cardState(card.ID); total != spent {
		t.Fatalf("a refused request changed the total: %d, want %d", total, spent)
	}
	// The same request with its right MAC is decided (not a duplicate).
	_ = wrongReq.Field(iso.FieldMAC, rightMAC)
	if a, _ := e.sendMAC(wrongReq, nil); a.code != "00" {
		t.Fatalf("the request with its right MAC after a wrong one answered %s, want 00", a.code)
	}

	// No MAC: 63 mac_missing, answered with a MAC.
	a, raw = e.sendMAC(e.build(card, mag("")), nil)
	if a.code != "63" {
		t.Fatalf("missing MAC answered %s, want 63", a.code)
	}
	if v, present := e.answerMACVersion(raw); !present || v != 1 {
		t.Fatalf("answer to a missing MAC: MAC present %v, version %d", present, v)
	}
	if code, reason := e.lastRecord(card.ID); code != "63" || reason != "mac_missing" {
		t.Fatalf("record: %s %s", code, reason)
	}

	// A MAC under another key; a MAC from an acquirer without a ZAK.
	if a, _ := e.sendMAC(e.build(card, mag("")), macUnder(t, clearZPK)); a.code != "63" {
		t.Fatalf("MAC under another key answered %s", a.code)
	}
	plain := msg{entry: "901", track2: track2(t, card, true)}
	if a, raw := e.sendMAC(e.build(card, plain), good); a.code != "63" {
		t.Fatalf("a MAC from an acquirer without a ZAK answered %s, want 63", a.code)
	} else if _, present := e.answerMACVersion(raw); present {
		t.Fatal("the answer to an acquirer without a ZAK carries a MAC")
	}
	// An acquirer without a ZAK that sends no MAC is answered without one.
	if a, raw := e.sendMAC(e.build(card, plain), nil); a.code != "00" {
		t.Fatalf("plain request answered %s", a.code)
	} else if _, present := e.answerMACVersion(raw); present {
		t.Fatal("the answer to a plain request carries a MAC")
	}
	if _, total, _ := e.cardState(card.ID); total != spent+2000 {
		t.Fatalf("total %d, want %d (two approvals after the first)", total, spent+2000)
	}
	for reason, want := range map[string]float64{"mac_invalid": 3, "mac_missing": 1} {
		if got := decisions(t, e.reg, reason); got != want {
			t.Fatalf("decisions{%s} = %v, want %v", reason, got, want)
		}
	}

	// A repeat (0101) MACed again gets the original's answer, byte for
	// byte: its new MAC is not part of the content.
	orig := e.build(card, mag(""))
	first, firstRaw := e.sendMAC(orig, good)
	rep, err := iso.Unpack(mustPackMsg(t, orig))
	if err != nil {
		t.Fatal(err)
	}
	rep.MTI("0101")
	second, secondRaw := e.sendMAC(rep, good)
	if first.code != "00" || second.code != "00" || !bytes.Equal(firstRaw, secondRaw) {
		t.Fatalf("repeat: %s then %s, same bytes %v", first.code, second.code, bytes.Equal(firstRaw, secondRaw))
	}

	// A reversal with a wrong MAC reverses nothing: published as declined.
	revBad := e.build(card, msg{mti: "0400", acquirer: macAcquirerID, original: &iso.OriginalData{MTI: "0100",
		STAN: mustGet(t, orig, iso.FieldSTAN), TransmissionTime: mustGet(t, orig, iso.FieldTransmissionTime),
		AcquirerID: iso.PadInstitutionID(macAcquirerID), ForwardingID: "00000000000"},
		rrn: mustGet(t, orig, iso.FieldRRN), transmission: mustGet(t, orig, iso.FieldTransmissionTime)})
	_, totalBefore, _ := e.cardState(card.ID)
	if a, _ := e.sendMAC(revBad, macUnder(t, clearZPK)); a.code != "63" {
		t.Fatalf("reversal with a wrong MAC answered %s", a.code)
	}
	if typ, reason := e.eventReason(card.ID); typ != kafka.TypeAuthorizationDeclined || reason != "mac_invalid" {
		t.Fatalf("event of a refused reversal: %s %s", typ, reason)
	}
	if _, total, _ := e.cardState(card.ID); total != totalBefore {
		t.Fatalf("a refused reversal changed the total: %d, want %d", total, totalBefore)
	}
	// A reversal carries field 90 (a secondary bitmap): its MAC is field
	// 128, and so is its answer's.
	rev := e.build(card, msg{mti: "0400", acquirer: macAcquirerID, original: &iso.OriginalData{MTI: "0100",
		STAN: mustGet(t, orig, iso.FieldSTAN), TransmissionTime: mustGet(t, orig, iso.FieldTransmissionTime),
		AcquirerID: iso.PadInstitutionID(macAcquirerID), ForwardingID: "00000000000"},
		rrn: mustGet(t, orig, iso.FieldRRN), transmission: mustGet(t, orig, iso.FieldTransmissionTime)})
	a, raw = e.sendMAC(rev, good)
	if v, _ := rev.GetString(iso.FieldSecondaryMAC); a.code != "00" || v == "" {
		t.Fatalf("reversal with MAC in 128 answered %s (field 128 %q)", a.code, v)
	}
	if v, present := e.answerMACVersion(raw); !present || v != 1 {
		t.Fatalf("reversal answer MAC: present %v, version %d", present, v)
	}
	if resp, err := iso.Unpack(raw); err != nil || mustGet(t, resp, iso.FieldSecondaryMAC) == "" {
		t.Fatalf("reversal answer without field 128: %v", err)
	}
	// Field 64 in a message with a secondary bitmap is a format error.
	bad := e.build(card, msg{mti: "0400", acquirer: macAcquirerID, original: &iso.OriginalData{MTI: "0100", STAN: "123456",
		TransmissionTime: "0101000000", AcquirerID: iso.PadInstitutionID(macAcquirerID), ForwardingID: "00000000000"}})
	_ = bad.Field(iso.FieldMAC, strings.Repeat("0", 16))
	_ = bad.Field(iso.FieldSecondaryMAC, strings.Repeat("0", 16))
	if a, _ := e.sendMAC(bad, nil); a.code != "30" {
		t.Fatalf("MAC in field 64 with a secondary bitmap answered %s, want 30", a.code)
	}
}

// TestMACKeyRotationKeepsTheAcquirer: after the ZAK is rotated, the
// acquirer's messages MACed under the retired version are accepted until
// its UsableUntil and answered under it (the acquirer cannot check
// anything else until it changed keys); messages under the new version
// are answered under the new one; past UsableUntil the old version is
// refused (issue 12, points 6 and 9).
func TestMACKeyRotationKeepsTheAcquirer(t *testing.T) {
	e := newHostEnv(t)
	ctx := context.Background()
	card := e.newCard(cardOpts{})
	mag := func() *iso8583.Message {
		return e.build(card, msg{entry: "901", track2: track2(t, card, true), acquirer: macAcquirerID})
	}
	until := time.Now().Add(time.Hour)
	if _, err := e.hsm.Rotate(ctx, e.keys[emv.KeyZAK], until); err != nil {
		t.Fatal(err)
	}
	a, raw := e.sendMAC(mag(), macUnder(t, clearZAK))
	if a.code != "00" {
		t.Fatalf("MAC under the retired ZAK version answered %s", a.code)
	}
	if v, _ := e.answerMACVersion(raw); v != 1 {
		t.Fatalf("answer MACed under version %d, want 1 (the request's)", v)
	}
	// The acquirer has the new version (exchanged under a KEK): the HSM
	// plays its side.
	v2 := func(data []byte) ([]byte, error) { return e.hsm.GenerateMAC(ctx, e.keys[emv.KeyZAK], 2, data) }
	a, raw = e.sendMAC(mag(), v2)
	if a.code != "00" {
		t.Fatalf("MAC under the new ZAK version answered %s", a.code)
	}
	if v, _ := e.answerMACVersion(raw); v != 2 {
		t.Fatalf("answer MACed under version %d, want 2", v)
	}
	// A refusal is answered under the active version.
	if a, raw := e.sendMAC(mag(), nil); a.code != "63" {
		t.Fatalf("missing MAC answered %s", a.code)
	} else if v, _ := e.answerMACVersion(raw); v != 2 {
		t.Fatalf("refusal MACed under version %d, want 2", v)
	}
	e.hsmAhead.Store(int64(2 * time.Hour))
	e.hsm.Purge()
	if a, _ := e.sendMAC(mag(), macUnder(t, clearZAK)); a.code != "63" {
		t.Fatalf("MAC under a version past its UsableUntil answered %s, want 63", a.code)
	}
	if code, reason := e.lastRecord(card.ID); code != "63" || reason != "mac_invalid" {
		t.Fatalf("record: %s %s", code, reason)
	}
}

func mustPackMsg(t testing.TB, m *iso8583.Message) []byte {
	t.Helper()
	b, err := iso.Pack(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustGet(t testing.TB, m *iso8583.Message, id int) string {
	t.Helper()
	v, _ := m.GetString(id)
	return v
}

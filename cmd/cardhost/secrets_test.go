package main

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	pgxv5 "github.com/jackc/pgx/v5"

	"github.com/cardhost/cardhost/cmd/termsim/terminal"
	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/emv/pinblock"
	"github.com/cardhost/cardhost/emv/softhsm"
	"github.com/cardhost/cardhost/iso"
	"github.com/cardhost/cardhost/issuance/postgres"
	"github.com/cardhost/cardhost/issuance/whsig"
)

// This file proves that card data and keys never leave cardhost except
// where the API returns them by design (reveal, sandbox perso export):
// TestSecretsNeverLeak runs the issuing flows and ISO 8583 traffic with
// DEBUG logs, gathers everything an operator, a consumer or a database
// reader could see, and searches it for every secret the test used.

// secret is one value that must not be observable.
type secret struct {
	name, value string
	kind        secretKind
}

// secretKind says how a secret is searched for.
type secretKind int

const (
	// longSecret (PANs, tracks, PIN blocks, keys: 8 characters or more)
	// is searched as a substring of everything, in several encodings.
	longSecret secretKind = iota
	// chosenPIN is a PIN the test chose, unlike any other digit group in
	// the output (no year, MCC, currency, port): searched as a whole token
	// of every string member of structured output.
	chosenPIN
	// randomCVV (a CVV, iCVV or CVV2: 3 random digits) is found where a
	// string member is exactly it, or holds it as a whole token next to a
	// word that names card data (cvv, pin, track...). Three digits are too
	// common in ordinary text ("NIST SP 800-56C") to be searched as bare
	// tokens.
	randomCVV
)

// secretsAcquirer is the acquirer the test adds with the CLI. Its id is
// longer than three digits so that no random CVV can equal it: a stored
// acquirer id is a string member that a CVV search would flag.
const secretsAcquirer = "77701"

// secretSet collects the secrets a test used, without duplicates.
type secretSet struct {
	list []secret
	seen map[string]bool
}

func (s *secretSet) add(name, value string, kind secretKind) {
	if value == "" {
		panic("empty secret " + name)
	}
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	if s.seen[value] {
		return
	}
	s.seen[value] = true
	s.list = append(s.list, secret{name: name, value: value, kind: kind})
}

// long adds a long secret (at least 8 characters).
func (s *secretSet) long(name, value string) {
	if len(value) < 8 {
		panic(fmt.Sprintf("secret %s is too short for a substring search", name))
	}
	s.add(name, value, longSecret)
}

// key adds clear key material (bytes) as a long secret.
func (s *secretSet) key(name string, k []byte) { s.long(name, strings.ToUpper(hex.EncodeToString(k))) }

// pan adds a PAN and the parts of it that a partial leak would show: the
// digits after the BIN and the digits before the last four.
func (s *secretSet) pan(name, pan string) {
	s.long(name, pan)
	s.long(name+" without its BIN", pan[6:])
	s.long(name+" without its last four", pan[:len(pan)-4])
}

// track2 adds track 2 data: the whole track, and its discretionary data
// (expiry, service code, PIN verification data, CVV) with either separator.
func (s *secretSet) track2(name, tr string) {
	tr = strings.TrimRight(tr, "F")
	s.long(name, tr)
	i := strings.IndexAny(tr, "=D")
	if i < 0 || len(tr) < i+1+15 {
		panic("track 2 without separator")
	}
	s.long(name+" after the PAN", tr[i:i+1+15])
	alt := "="
	if tr[i] == '=' {
		alt = "D"
	}
	s.long(name+" after the PAN", alt+tr[i+1:i+1+15])
	s.add(name+" CVV", tr[i+1+12:i+1+15], randomCVV)
}

// forms returns what to look for: the value, and for hex values their
// bytes in raw, base64 and base64url form; for API keys their random bytes
// raw and in hex; for every value its ASCII hex (a bytea column shown as
// hex).
func (s secret) forms() (text []string, raw [][]byte) {
	text = []string{strings.ToLower(s.value)}
	if b, err := hex.DecodeString(s.value); err == nil && len(b) >= 8 && !allDigitsOrSep(s.value) {
		raw = append(raw, b)
		text = append(text, strings.ToLower(base64.StdEncoding.EncodeToString(b)), strings.ToLower(base64.RawURLEncoding.EncodeToString(b)))
	}
	if rest, ok := strings.CutPrefix(s.value, "chk_"); ok { // an API key: its random bytes too
		if b, err := base64.RawURLEncoding.DecodeString(rest); err == nil {
			raw = append(raw, b)
			text = append(text, hex.EncodeToString(b))
		}
	}
	text = append(text, hex.EncodeToString([]byte(s.value)))
	return text, raw
}

func allDigitsOrSep(s string) bool {
	for _, c := range s {
		if (c < '0' || c > '9') && c != '=' {
			return false
		}
	}
	return true
}

// observed is one piece of what could be seen, with where it came from.
type observed struct {
	where string
	data  []byte
	json  bool // a JSON document: also searched for short secrets
}

// corpus is everything observable.
type corpus struct{ items []observed }

func (c *corpus) add(where string, data []byte, isJSON bool) {
	c.items = append(c.items, observed{where: where, data: data, json: isJSON})
}

// shortSecretKeys are JSON members whose values are short digit strings
// by design and may equal a CVV or PIN by chance: never card data.
var shortSecretKeys = map[string]bool{
	"currency": true, "country": true, "mcc": true, "response_code": true, "code": true, "stan": true, "rrn": true,
	"last4": true, "masked_pan": true, "expiry": true, "expiry_mm_yy": true, "psn": true, "service_code": true,
	"processing_code": true, "entry_mode": true, "approval_code": true, "kcv": true, "master_kcv": true, "ac_kcv": true,
	"pvki": true, "bin": true, "iin": true, "transmission_time": true, "match_key": true, "acquirer_id": true,
	"status": true, "le": true, "quantile": true, "pin_verify": true, // the stored PVV (verification data, not the PIN)
}

// timeOrAddrRE matches timestamps, network addresses and UUIDs, whose
// digit groups are not card data.
var timeOrAddrRE = regexp.MustCompile(`(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}(:?\d{2})?)?|\b\d{1,3}(\.\d{1,3}){3}(:\d+)?\b|\[::1?\](:\d+)?|:\d{2,5}\b`)

var tokenRE = regexp.MustCompile(`[A-Za-z0-9]+`)

// cardDataWordRE matches words that name card data.
var cardDataWordRE = regexp.MustCompile(`(?i)cvv|cvc|csc|pin|pvv|track|card verification`)

// shortSecrets are the short secrets by value.
type shortSecrets map[string][]secret

// shortHits walks a JSON value and reports every string member (outside
// shortSecretKeys) that holds a short secret: a chosen PIN as any whole
// token, a CVV as the whole value or as a token next to a word naming
// card data. Numbers are not searched: card data is held in string types
// everywhere.
func shortHits(v any, key string, short shortSecrets, hit func(key, name, value string)) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			shortHits(e, k, short, hit)
		}
	case []any:
		for _, e := range x {
			shortHits(e, key, short, hit)
		}
	case string:
		if shortSecretKeys[key] {
			return
		}
		if inner, ok := embeddedJSON(x); ok {
			shortHits(inner, key, short, hit)
			return
		}
		context := cardDataWordRE.MatchString(key) || cardDataWordRE.MatchString(x)
		for _, tok := range tokenRE.FindAllString(timeOrAddrRE.ReplaceAllString(x, " "), -1) {
			for _, s := range short[tok] {
				if s.kind == chosenPIN || tok == x || context {
					hit(key, s.name, x)
				}
			}
		}
	}
}

// embeddedJSON decodes a string that holds JSON (text, or a bytea shown
// as \x hex holding JSON).
func embeddedJSON(s string) (any, bool) {
	b := []byte(s)
	if h, ok := strings.CutPrefix(s, `\x`); ok {
		d, err := hex.DecodeString(h)
		if err != nil {
			return nil, false
		}
		b = d
	}
	b = bytes.TrimSpace(b)
	if len(b) < 2 || (b[0] != '{' && b[0] != '[') {
		return nil, false
	}
	var v any
	if json.Unmarshal(b, &v) != nil {
		return nil, false
	}
	return v, true
}

// find returns where each secret is found in the corpus ("where holds
// what: context").
func (c *corpus) find(secrets []secret) []string {
	short := shortSecrets{}
	type form struct {
		s    secret
		text []string
		raw  [][]byte
	}
	var longs []form
	for _, s := range secrets {
		if s.kind != longSecret {
			short[s.value] = append(short[s.value], s)
			continue
		}
		text, raw := s.forms()
		longs = append(longs, form{s, text, raw})
	}
	var hits []string
	report := func(where, what string, data []byte, at int) {
		from, to := max(0, at-80), min(len(data), at+80)
		hits = append(hits, fmt.Sprintf("%s holds %s: ...%q...", where, what, data[from:to]))
	}
	for _, it := range c.items {
		lower := bytes.ToLower(it.data)
		for _, f := range longs {
			for _, s := range f.text {
				if i := bytes.Index(lower, []byte(s)); i >= 0 {
					report(it.where, f.s.name, it.data, i)
				}
			}
			for _, r := range f.raw {
				if i := bytes.Index(it.data, r); i >= 0 {
					report(it.where, f.s.name+" (raw bytes)", it.data, i)
				}
			}
		}
		if !it.json {
			continue
		}
		var v any
		dec := json.NewDecoder(bytes.NewReader(it.data))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			hits = append(hits, fmt.Sprintf("%s is not JSON (%v): it cannot be searched for short secrets", it.where, err))
			continue
		}
		shortHits(v, "", short, func(key, name, value string) {
			report(it.where, fmt.Sprintf("%s in member %q", name, key), []byte(value), 0)
		})
	}
	return hits
}

// persoSecrets opens a sealed personalisation record (docs/perso.md, with
// the standard library only), adds every secret in it and returns it.
func persoSecrets(t *testing.T, s *secretSet, cardID, recordB64 string) []byte {
	t.Helper()
	sealed, err := base64.StdEncoding.DecodeString(recordB64)
	if err != nil || len(sealed) < 1+4+12+16 {
		t.Fatalf("perso record of %s: %v", cardID, err)
	}
	kek, _ := hex.DecodeString(terminal.DefaultTransportKeyHex)
	key, err := hkdf.Key(sha256.New, kek, nil, "cardhost:perso:v1", 32)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := aes.NewCipher(key)
	gcm, _ := cipher.NewGCM(blk)
	clear, err := gcm.Open(nil, sealed[5:17], sealed[17:], []byte(cardID))
	if err != nil {
		t.Fatalf("opening the perso record of %s: %v", cardID, err)
	}
	var r struct {
		PAN, Track2, CVV2, PIN string
		Track2Chip             string `json:"track2_chip"`
		Keys                   struct {
			AC, SMI, SMC string
		} `json:"icc_master_keys"`
	}
	if err := json.Unmarshal(clear, &r); err != nil {
		t.Fatal(err)
	}
	if r.PAN == "" || r.Track2 == "" || r.Track2Chip == "" || r.CVV2 == "" || r.Keys.AC == "" {
		t.Fatalf("perso record of %s lacks card data", cardID)
	}
	s.pan("PAN of "+cardID, r.PAN)
	s.track2("track 2 of "+cardID, r.Track2)
	s.track2("chip track 2 (iCVV) of "+cardID, r.Track2Chip)
	s.add("CVV2 of "+cardID, r.CVV2, randomCVV)
	if r.PIN != "" {
		s.add("PIN of "+cardID, r.PIN, chosenPIN)
	}
	for name, k := range map[string]string{"MK-AC": r.Keys.AC, "MK-SMI": r.Keys.SMI, "MK-SMC": r.Keys.SMC} {
		if k != "" {
			s.long(name+" of "+cardID, strings.ToUpper(k))
		}
	}
	return clear
}

// pinSetBlock is the issuer's side of a PIN set as docs/api.md ("PIN set")
// and issuance/rest's Example_pinSet describe it, standard library and
// emv/pinblock only. It also returns the agreed key K and the shared
// secret Z, which are secrets too.
func pinSetBlock(t *testing.T, issuer *ecdsa.PrivateKey, hsmPublicKeyPEM, pan, pin string) (block string, k, z []byte) {
	t.Helper()
	blk, _ := pem.Decode([]byte(hsmPublicKeyPEM))
	if blk == nil {
		t.Fatal("HSM public key: not PEM")
	}
	pk, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	hsm, err := pk.(*ecdsa.PublicKey).ECDH()
	if err != nil {
		t.Fatal(err)
	}
	priv, err := issuer.ECDH()
	if err != nil {
		t.Fatal(err)
	}
	if z, err = priv.ECDH(hsm); err != nil {
		t.Fatal(err)
	}
	var fixedInfo []byte
	for _, f := range [][]byte{[]byte("cardhost:pin-set:iso9564-4:aes-256"), priv.PublicKey().Bytes(), hsm.Bytes()} {
		fixedInfo = binary.BigEndian.AppendUint32(fixedInfo, uint32(len(f)))
		fixedInfo = append(fixedInfo, f...)
	}
	fixedInfo = binary.BigEndian.AppendUint32(fixedInfo, 256)
	h := sha256.New()
	h.Write([]byte{0, 0, 0, 1})
	h.Write(z)
	h.Write(fixedInfo)
	k = h.Sum(nil)
	c, err := aes.NewCipher(k)
	if err != nil {
		t.Fatal(err)
	}
	b, err := pinblock.Encipher(pinblock.Format4, c, []byte(pin), pan, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return strings.ToUpper(hex.EncodeToString(b)), k, z
}

// readTopicRecords reads every record of the topic, up to its end offsets
// at the time of the call.
func readTopicRecords(t *testing.T, brokers []string, topic string) []kafkaRecord {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	recs, err := readTopic(ctx, brokers, topic)
	if err != nil {
		t.Fatalf("reading %s: %v", topic, err)
	}
	return recs
}

// TestSecretsNeverLeak runs the issuing flows over REST (certificate,
// products, cards VIRTUAL and PLASTIC with embossing, PIN set at creation
// and later with the documented ECDH client, sandbox PIN, reveal, perso
// export, import, the simulator's authorization, capture and reversal,
// and requests refused because they hold card data) and ISO 8583 traffic
// (chip, contactless, magstripe with right and wrong PIN, e-commerce with
// right and wrong CVV2, wrong CVV, tampered ARQC, reversals, partial
// reversal, capture, 0200, balance inquiry, retransmission, advice, an
// unknown card, a manual entry of the imported card, a PIN under a zone
// PIN key imported with `cardhost keys import`), with DEBUG logs. Then it
// gathers everything observable — every log line, every Kafka record
// (key, value, headers), every HTTP answer but the reveal and perso ones,
// /metrics, every row of every table, the CLI's output, the files in the
// data dir but the master key — and searches it for every PAN, track 2,
// CVV, iCVV, CVV2, PIN, PIN block and clear key used, and for the API
// key, webhook and authorization decision secrets (the last one used to
// sign a real decision request): no hit. It also
// checks that stored PANs are sealed, that no unkeyed digest of a request
// holding a PAN is stored, and that HSM key blocks open only under their
// master key and do not contain their keys.
func TestSecretsNeverLeak(t *testing.T) {
	env := testEnv(t)
	env["CARDHOST_LOG_LEVEL"] = "debug"
	env["CARDHOST_LOG_FORMAT"] = "json"
	env["CARDHOST_HTTP_RATE_LIMIT"] = "-1"
	logs, logged := fileLogs(t)
	app := startAppLogging(t, env, logs)
	t.Cleanup(func() {
		if t.Failed() {
			for _, l := range strings.Split(string(logged()), "\n") {
				if strings.Contains(l, `"level":"ERROR"`) {
					t.Log("cardhost:", l)
				}
			}
		}
	})
	ctx := t.Context()
	var sec secretSet
	var obs corpus
	var control corpus // what carries card data by design: the search must find it
	answers := &answerLog{}
	api := newAPIClient(t, app.base(), app.sandboxKey(t))
	api.log = answers
	api.skipLog = func(method, path string) bool {
		return strings.HasSuffix(path, "/reveal") || strings.HasSuffix(path, "/perso")
	}
	masterKey, err := os.ReadFile(filepath.Join(env["CARDHOST_DATA_DIR"], "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	sec.long("HSM master key", strings.ToUpper(strings.TrimSpace(string(masterKey))))
	for name, k := range map[string]string{"sandbox transport key": terminal.DefaultTransportKeyHex, "sandbox zone PIN key": terminal.DefaultZPKHex,
		"sandbox zone MAC key":      terminal.DefaultZAKHex,
		"transport key component 1": "88E1AB2A2E3DD38C1FA039A536500CC8A87AB9D62DC92C01058FA79F44657DE6",
		"transport key component 2": "BE19E6A07A760F10EF8E83A226B63AAD141F463FDDD4F47DB244B4023EC3CACC",
		"ZPK component 1":           "3B577FB3FD756DDFE62F6B52751580E0", "ZPK component 2": "D9CDE338A104A789859E76150B543251",
		"ZPK component 3": "1032D0581A31D64FADD08991945E0D3E"} {
		sec.long(name, k)
	}

	// A zone PIN key imported from components with the CLI, for a new acquirer.
	c1, c2 := make([]byte, 16), make([]byte, 16)
	rand.Read(c1)
	rand.Read(c2)
	zpk := make([]byte, 16)
	subtle.XORBytes(zpk, c1, c2)
	kcv, _ := emv.KCV(emv.AlgorithmTDES, zpk)
	cliOut := cliOK(t, getenvOf(env), "keys", "import", "--type", "ZPK", "--component", hex.EncodeToString(c1),
		"--component", hex.EncodeToString(c2), "--kcv", emv.EncodeHex(kcv))
	zpkRef := firstRef(t, cliOut)
	cliOut += cliOK(t, getenvOf(env), "acquirers", "add", "--id", secretsAcquirer, "--name", "Secrets acquirer", "--zpk-ref", zpkRef)
	obs.add("the CLI's output", []byte(cliOut), false)
	sec.key("imported zone PIN key", zpk)
	sec.key("imported ZPK component 1", c1)
	sec.key("imported ZPK component 2", c2)

	// Certificate and the HSM's ECDH key: the PIN-set client.
	issuerKey, csr := newCSR(t, "Secrets issuer")
	var crt struct {
		IPK string `json:"hsm_key_reference"`
	}
	api.do("POST", "/v1/certificates", map[string]any{"certificate_request_pem": csr}).must(t, 201).decode(t, &crt)
	var hsmKey struct {
		PEM string `json:"public_key_pem"`
	}
	api.do("GET", "/v1/hsm/public-key", nil).must(t, 200).decode(t, &hsmKey)
	pinBlock := func(pan, pin string) string {
		b, k, z := pinSetBlock(t, issuerKey, hsmKey.PEM, pan, pin)
		sec.long("enciphered PIN-set block", b)
		sec.key("agreed PIN-set key", k)
		sec.key("ECDH shared secret", z)
		sec.add("PIN", pin, chosenPIN)
		return b
	}

	// Catalog: the seeded templates, a layout, PLASTIC and Mastercard products.
	var tpls struct {
		Data []struct {
			ID       string
			Network  string
			CVN      int
			IMKACRef string `json:"imk_ac_key_reference"`
			CVKRef   string `json:"cvk_key_reference"`
			PVKRef   string `json:"pvk_key_reference"`
		}
	}
	api.do("GET", "/v1/data-prep-templates?limit=100", nil).must(t, 200).decode(t, &tpls)
	var visa18, mc17 int = -1, -1
	for i, tp := range tpls.Data {
		switch {
		case tp.Network == "VISA" && tp.CVN == 18:
			visa18 = i
		case tp.Network == "MASTERCARD" && tp.CVN == 17:
			mc17 = i
		}
	}
	if visa18 < 0 || mc17 < 0 {
		t.Fatalf("sandbox templates: %+v", tpls.Data)
	}
	var embs struct {
		Data []struct{ ID string }
	}
	api.do("GET", "/v1/embossers", nil).must(t, 200).decode(t, &embs)
	var lay struct {
		ID string `json:"layout_id"`
	}
	api.do("POST", "/v1/card-layouts", map[string]any{"layout": "secrets-layout"}).must(t, 201).decode(t, &lay)
	product := func(name, cardType string, tpl int) string {
		var p struct {
			ID string `json:"product_id"`
		}
		api.do("POST", "/v1/card-products", map[string]any{"name": name, "layout_id": lay.ID, "data_prep_template_id": tpls.Data[tpl].ID,
			"default_embosser_id": embs.Data[0].ID, "currency": "USD", "card_type": cardType}).must(t, 201).decode(t, &p)
		return p.ID
	}
	plasticProduct := product("Secrets plastic", "PLASTIC", visa18)
	mcProduct := product("Secrets Mastercard", "VIRTUAL", mc17)
	visaProduct := product("Secrets virtual", "VIRTUAL", visa18)

	// Cards: a plastic with its PIN at creation (embossed by the loopback
	// embosser), a virtual card with a 6-digit PIN set afterwards, a
	// Mastercard CVN 17 card.
	type cardOut struct {
		ID     string `json:"card_id"`
		Status string
	}
	var plastic, virtual, mc cardOut
	api.do("POST", "/v1/cards", map[string]any{"product_id": plasticProduct, "card_holder_name": "SECRET PLASTIC",
		"shipping_address":     map[string]any{"line1": "Rua Secreta", "city": "Recife", "country": "BR"},
		"enciphered_pin_block": pinBlock("000000000000", "8642"), "incoming_pek": map[string]any{"key_reference": crt.IPK}}).must(t, 201).decode(t, &plastic)
	api.do("POST", "/v1/cards", map[string]any{"product_id": visaProduct, "card_holder_name": "SECRET VIRTUAL", "pin_length": 6}).must(t, 201).decode(t, &virtual)
	api.do("POST", "/v1/cards", map[string]any{"product_id": mcProduct, "card_holder_name": "SECRET MASTERCARD"}).must(t, 201).decode(t, &mc)
	waitFor(t, 30*time.Second, "the plastic to be embossed", func() bool {
		var c cardOut
		api.do("GET", "/v1/cards/"+plastic.ID, nil).must(t, 200).decode(t, &c)
		return c.Status == "ACTIVE"
	})
	reveal := func(id string) (pan, cvv2, expiry string) {
		var r struct{ PAN, CVV2, Expiry string }
		ans := api.do("POST", "/v1/cards/"+id+"/reveal", nil).must(t, 200)
		ans.decode(t, &r)
		control.add("reveal answer", ans.Body, true)
		sec.pan("PAN of "+id, r.PAN)
		sec.add("CVV2 of "+id, r.CVV2, randomCVV)
		return r.PAN, r.CVV2, r.Expiry
	}
	virtualPAN, _, _ := reveal(virtual.ID)
	plasticPAN, plasticCVV2, _ := reveal(plastic.ID)
	reveal(mc.ID)
	api.do("POST", "/v1/cards/"+virtual.ID+"/pin", map[string]any{"enciphered_pin_block": pinBlock(virtualPAN, "739152"),
		"incoming_pek": map[string]any{"key_reference": crt.IPK}}).must(t, 200)
	// Sandbox PINs, which the perso export then carries, for the terminal.
	for id, pin := range map[string]string{plastic.ID: "4817", virtual.ID: "593716", mc.ID: "3951"} {
		sec.add("sandbox PIN", pin, chosenPIN)
		api.do("POST", "/v1/simulator/cards/"+id+"/pin", map[string]any{"pin": pin}).must(t, 200)
	}
	kek, _ := hex.DecodeString(terminal.DefaultTransportKeyHex)
	cards := map[string]*terminal.Card{}
	for _, id := range []string{plastic.ID, virtual.ID, mc.ID} {
		var p terminal.PersoExport
		ans := api.do("POST", "/v1/simulator/cards/"+id+"/perso", nil).must(t, 200)
		ans.decode(t, &p)
		control.add("opened perso record", persoSecrets(t, &sec, id, p.Record), true)
		card, err := p.Open(kek)
		if err != nil {
			t.Fatal(err)
		}
		cards[id] = card
	}

	// Import: a card from another processor (keys of the seeded template).
	importPAN := luhnPAN(t, "4000001")
	sec.pan("imported PAN", importPAN)
	importExpiry := time.Now().AddDate(2, 0, 0).Format("0601")
	importBody := map[string]any{"pan": importPAN, "expiry": importExpiry, "network": "VISA", "cvn": 18,
		"imk_ac_key_reference": tpls.Data[visa18].IMKACRef, "cvk_key_reference": tpls.Data[visa18].CVKRef,
		"pvk_key_reference": tpls.Data[visa18].PVKRef, "pin_method": "PVV", "pvki": "1", "pvv": "5193", "product_id": visaProduct}
	imp := api.do("POST", "/v1/cards/import", importBody, "Idempotency-Key", "secrets-import").must(t, 201)
	var imported cardOut
	imp.decode(t, &imported)
	requestsWithPAN := [][]byte{imp.Request}

	// Requests refused because of their card data: the answers must not
	// echo it.
	badLuhn := importPAN[:15] + string('0'+(importPAN[15]-'0'+1)%10)
	sec.long("PAN failing its Luhn check", badLuhn)
	for _, r := range []struct {
		path string
		body any
	}{
		{"/v1/cards/import", map[string]any{"pan": badLuhn, "expiry": importExpiry, "network": "VISA", "cvn": 18,
			"imk_ac_key_reference": tpls.Data[visa18].IMKACRef, "cvk_key_reference": tpls.Data[visa18].CVKRef, "product_id": visaProduct}},
		{"/v1/cards/import", map[string]any{"pan": plasticPAN, "expiry": importExpiry, "network": "VISA", "cvn": 18,
			"imk_ac_key_reference": tpls.Data[visa18].IMKACRef, "cvk_key_reference": tpls.Data[visa18].CVKRef, "product_id": visaProduct}},
		{"/v1/cards", map[string]any{"product_id": visaProduct, "card_holder_name": "SECRET", "pan": virtualPAN, "cvv2": "123"}},
		{"/v1/cards", `{"product_id": "` + visaProduct + `", "pan": "` + virtualPAN + `", "track2": "` + virtualPAN + `=`},
		{"/v1/cards/" + virtual.ID + "/pin", map[string]any{"enciphered_pin_block": pinBlock("000000000000", "2580"),
			"incoming_pek": map[string]any{"key_reference": crt.IPK}}},
		{"/v1/simulator/cards/" + virtual.ID + "/pin", map[string]any{"pin": "12345678901234"}},
	} {
		if ans := api.do("POST", r.path, r.body); ans.Status < 400 || ans.Status >= 500 {
			t.Errorf("POST %s with bad card data: %d %s, want a 4xx", r.path, ans.Status, ans.Body)
		}
	}
	sec.add("PIN", "2580", chosenPIN)

	// The sandbox simulator over REST: authorization, capture, reversal.
	var sim struct {
		ID string `json:"authorization_id"`
	}
	api.do("POST", "/v1/simulator/authorizations", map[string]any{"card_id": virtual.ID, "amount": 42000}).must(t, 201).decode(t, &sim)
	api.do("POST", "/v1/simulator/authorizations/"+sim.ID+"/capture", map[string]any{"amount": 41000}).must(t, 201)
	api.do("POST", "/v1/simulator/authorizations", map[string]any{"card_id": mc.ID, "amount": 43000}).must(t, 201).decode(t, &sim)
	api.do("POST", "/v1/simulator/authorizations/"+sim.ID+"/reversal", map[string]any{}).must(t, 201)

	// ISO 8583 traffic.
	iso8583Traffic(t, app, &sec, cards, importPAN, importExpiry, zpk)

	// API keys: created with and without an Idempotency-Key, the first one
	// replayed, each one used. Their secrets belong only in the create
	// answers (the control); a replay, the idempotency table, a log or an
	// event holding one is a leak.
	creator := newAPIClient(t, app.base(), app.sandboxKey(t)) // not logged: its answers carry the secrets by design
	keySecret := func(name string, headers ...string) string {
		var k struct{ Secret string }
		ans := creator.do("POST", "/v1/api-keys", map[string]any{"name": name, "scopes": []string{"reveal"}}, headers...).must(t, 201)
		ans.decode(t, &k)
		control.add("API key creation answer", ans.Body, true)
		sec.long("API key secret ("+name+")", k.Secret)
		user := newAPIClient(t, app.base(), k.Secret)
		user.log = answers
		user.do("GET", "/v1/tenant", nil).must(t, 200)
		user.do("POST", "/v1/cards/"+virtual.ID+"/freeze", map[string]any{"reason": "key " + name}, "Idempotency-Key", "freeze-"+strings.ReplaceAll(name, " ", "-")).must(t, 200)
		user.do("POST", "/v1/cards/"+virtual.ID+"/unfreeze", nil).must(t, 200)
		return k.Secret
	}
	keySecret("secrets replayed", "Idempotency-Key", "secrets-key")
	keySecret("secrets plain")
	api.do("POST", "/v1/api-keys", map[string]any{"name": "secrets replayed", "scopes": []string{"reveal"}}, "Idempotency-Key", "secrets-key").must(t, 201)

	// Webhook secrets: an endpoint created with an Idempotency-Key (and
	// the request replayed), its secret rotated, and a delivery signed
	// with both secrets made to a receiver (the issuer's side, where the
	// signatures belong). The secrets belong only in the create and rotate
	// answers.
	var hooked atomic.Int32
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(strings.Fields(r.Header.Get("webhook-signature"))) == 2 {
			hooked.Add(1)
		}
	}))
	defer receiver.Close()
	hookSecret := func(name string, ans apiAnswer) string {
		var ep struct{ ID, Secret string }
		ans.decode(t, &ep)
		control.add("webhook "+name+" answer", ans.Body, true)
		raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(ep.Secret, "whsec_"))
		if err != nil || len(raw) < 24 {
			t.Fatalf("webhook %s answer holds no secret: %s", name, ans.Body)
		}
		sec.long("webhook secret ("+name+")", strings.TrimPrefix(ep.Secret, "whsec_"))
		sec.key("webhook secret key ("+name+")", raw)
		return ep.ID
	}
	hookBody := map[string]any{"url": receiver.URL + "/hooks", "event_types": []string{"card.*"}, "description": "secrets"}
	hookID := hookSecret("creation", creator.do("POST", "/v1/webhook-endpoints", hookBody, "Idempotency-Key", "secrets-hook").must(t, 201))
	api.do("POST", "/v1/webhook-endpoints", hookBody, "Idempotency-Key", "secrets-hook").must(t, 201)
	hookSecret("rotation", creator.do("POST", "/v1/webhook-endpoints/"+hookID+"/rotate-secret", nil, "Idempotency-Key", "secrets-rotate").must(t, 200))
	api.do("POST", "/v1/webhook-endpoints/"+hookID+"/rotate-secret", nil, "Idempotency-Key", "secrets-rotate").must(t, 200)
	api.do("POST", "/v1/cards/"+virtual.ID+"/freeze", map[string]any{"reason": "webhook"}).must(t, 200)
	waitFor(t, 20*time.Second, "a webhook signed with both secrets", func() bool { return hooked.Load() > 0 })
	api.do("GET", "/v1/webhook-endpoints/"+hookID, nil).must(t, 200)
	api.do("GET", "/v1/events?limit=100", nil).must(t, 200)

	// The authorization decision secret: set with a PUT and an
	// Idempotency-Key (the request replayed), then used to sign the
	// decision request of an authorization, which the issuer's endpoint
	// verifies. It belongs only in the first PUT's answer.
	var decisionSecret atomic.Pointer[whsig.Secret]
	var decided atomic.Int32
	decider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if s := decisionSecret.Load(); s == nil || whsig.Verify(r.Header, body, time.Now(), time.Minute, *s) != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		decided.Add(1)
		io.WriteString(w, `{"approved": true}`)
	}))
	defer decider.Close()
	decisionBody := map[string]any{"url": decider.URL + "/decide", "timeout_ms": 3000, "default_action": "DECLINE"}
	decisionAnswer := creator.do("PUT", "/v1/authorization-decision", decisionBody, "Idempotency-Key", "secrets-decision").must(t, 200)
	control.add("authorization decision creation answer", decisionAnswer.Body, true)
	var dec struct{ Secret string }
	decisionAnswer.decode(t, &dec)
	ds, err := whsig.ParseSecret(dec.Secret)
	if err != nil {
		t.Fatalf("the decision endpoint's creation answered no secret: %s", decisionAnswer.Body)
	}
	decisionSecret.Store(&ds)
	sec.long("authorization decision secret", strings.TrimPrefix(dec.Secret, "whsec_"))
	sec.key("authorization decision secret key", ds)
	api.do("PUT", "/v1/authorization-decision", decisionBody, "Idempotency-Key", "secrets-decision").must(t, 200)
	api.do("GET", "/v1/authorization-decision", nil).must(t, 200)
	api.do("POST", "/v1/simulator/authorizations", map[string]any{"card_id": mc.ID, "amount": 4400}).must(t, 201)
	if decided.Load() != 1 {
		t.Fatalf("the decision endpoint verified %d signed requests, want 1", decided.Load())
	}

	// Read-only calls, so their answers are searched too.
	for _, p := range []string{"/v1/cards", "/v1/cards/" + virtual.ID, "/v1/cards/" + virtual.ID + "/authorizations", "/v1/cards/" + virtual.ID + "/spend",
		"/v1/cards/" + imported.ID, "/v1/orders", "/v1/card-products", "/v1/data-prep-templates", "/v1/certificates", "/v1/api-keys", "/v1/tenant"} {
		api.do("GET", p, nil).must(t, 200)
	}
	conn := dbConn(t, env["DATABASE_URL"])
	waitFor(t, 20*time.Second, "the outbox to be published", func() bool {
		var n int
		if err := conn.QueryRow(ctx, `SELECT n FROM ch_outbox_backlog('relay')`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 0
	})

	// Everything observable.
	_, _, metrics := httpGet(t, api.hc, app.base()+"/metrics", "")
	obs.add("/metrics", metrics, false)
	metricLabels(&obs, metrics)
	for i, a := range answers.all() {
		isJSON := strings.Contains(a.Header.Get("Content-Type"), "json") && len(bytes.TrimSpace(a.Body)) > 0
		obs.add(fmt.Sprintf("HTTP answer %d (%s %s, %d)", i, a.Method, a.Path, a.Status), a.Body, isJSON)
		var h bytes.Buffer
		a.Header.Write(&h)
		obs.add(fmt.Sprintf("HTTP headers of answer %d (%s %s)", i, a.Method, a.Path), h.Bytes(), false)
	}
	recs := readTopicRecords(t, app.Brokers(), "cardhost.events")
	for _, r := range recs {
		where := fmt.Sprintf("Kafka record %d/%d", r.Partition, r.Offset)
		obs.add(where+" key", r.Key, false)
		obs.add(where+" value", r.Value, true)
		for _, h := range r.Headers {
			obs.add(where+" header "+h.Key, h.Value, false)
		}
	}
	dump := dumpTables(t, conn, "")
	rows := 0
	for _, d := range dump {
		for i, r := range d.Rows {
			rows++
			where := fmt.Sprintf("table %s row %d", d.Name, i)
			obs.add(where, []byte(r), true)
			// bytea columns, decoded: a secret stored as bytes.
			var m map[string]any
			_ = json.Unmarshal([]byte(r), &m)
			for col, v := range m {
				if s, ok := v.(string); ok && strings.HasPrefix(s, `\x`) {
					if b, err := hex.DecodeString(s[2:]); err == nil {
						obs.add(where+" column "+col+" (bytes)", b, false)
					}
				}
			}
		}
	}
	lines := 0
	for _, l := range bytes.Split(logged(), []byte("\n")) {
		if len(bytes.TrimSpace(l)) > 0 {
			lines++
			obs.add(fmt.Sprintf("log line %d", lines), l, true)
		}
	}
	obs.add("cardhost's stdout", []byte(app.stdout.String()), false)
	files := 0
	filepath.WalkDir(env["CARDHOST_DATA_DIR"], func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Base(p) == "master.key" {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files++
		obs.add("data dir file "+p, b, false)
		return nil
	})
	// Nothing proves anything if the capture is empty.
	if lines < 50 || len(recs) < 30 || rows < 100 || len(answers.all()) < 30 || !bytes.Contains(logged(), []byte(`"level":"DEBUG"`)) {
		t.Fatalf("too little observed: %d log lines, %d Kafka records, %d rows, %d answers", lines, len(recs), rows, len(answers.all()))
	}
	t.Logf("searched %d log lines, %d Kafka records, %d HTTP answers, /metrics, %d rows of %d tables, %d data dir files for %d secrets",
		lines, len(recs), len(answers.all()), rows, len(dump), files, len(sec.list))
	hits := obs.find(sec.list)
	for i, h := range hits {
		if i == 40 {
			t.Errorf("... %d hits in all", len(hits))
			break
		}
		t.Error(h)
	}
	// The search itself finds what it looks for: the reveal answers and the
	// opened perso records, which carry card data by design, are hits.
	got := control.find(sec.list)
	kinds := map[string]bool{}
	for _, h := range got {
		for _, k := range []string{"PAN of", "track 2 of", "track 2 (iCVV) of", "CVV2 of", "MK-AC of", "sandbox PIN"} {
			if strings.Contains(h, k) {
				kinds[k] = true
			}
		}
	}
	if len(kinds) != 6 {
		t.Errorf("the search finds only %v in the reveal answers and perso records (%d hits)", kinds, len(got))
	}
	if keys := strings.Count(strings.Join(got, "\n"), "API key secret ("); keys != 2 {
		t.Errorf("the search finds %d API key secrets in the creation answers, want 2", keys)
	}
	if !strings.Contains(strings.Join(got, "\n"), "holds authorization decision secret") {
		t.Error("the search does not find the authorization decision secret in the answer that created it")
	}

	// No unkeyed digest of a request carrying a PAN is stored (a SHA-256 of
	// a body with a PAN is found by trying the PANs of one BIN).
	for _, body := range requestsWithPAN {
		s256, s1, s512 := sha256.Sum256(body), sha1.Sum(body), sha512.Sum512(body)
		for name, d := range map[string][]byte{"SHA-256": s256[:], "SHA-1": s1[:], "SHA-512": s512[:]} {
			for _, it := range obs.items {
				if bytes.Contains(bytes.ToLower(it.data), []byte(hex.EncodeToString(d))) || bytes.Contains(it.data, d) {
					t.Errorf("%s holds the %s of a request carrying a PAN: the PAN can be found by brute force", it.where, name)
				}
			}
		}
	}

	checkPANsSealed(t, conn, []string{plasticPAN, virtualPAN, importPAN})
	sandboxKEK, _ := hex.DecodeString(terminal.DefaultTransportKeyHex)
	sandboxZPK, _ := hex.DecodeString(terminal.DefaultZPKHex)
	checkKeyBlocks(t, env, conn, map[string][]byte{"imported zone PIN key": zpk, "sandbox transport key": sandboxKEK,
		"sandbox zone PIN key": sandboxZPK}, plastic.ID, plasticPAN, plasticCVV2)
}

// iso8583Traffic sends the ISO 8583 traffic of TestSecretsNeverLeak and
// adds the secrets it sent (tracks, PIN blocks, CVV2s).
func iso8583Traffic(t *testing.T, app *testApp, sec *secretSet, cards map[string]*terminal.Card, importPAN, importExpiry string, zpk []byte) {
	t.Helper()
	c := dialISO(t, app.ISOAddr())
	term := newTerminal(t, "SECRET01")
	mk := func(tx *terminal.Txn, err error) *terminal.Txn {
		t.Helper()
		if err != nil {
			t.Fatalf("building a request: %v", err)
		}
		return tx
	}
	send := func(tx *terminal.Txn, want ...iso.ResponseCode) *terminal.Result {
		t.Helper()
		for f, name := range map[int]string{35: "track 2 sent", 52: "PIN block sent", 2: "PAN sent"} {
			if v, _ := tx.Msg.GetString(f); v != "" {
				if f == 35 {
					sec.track2(name, v)
				} else if f == 2 {
					sec.pan(name, v)
				} else {
					sec.long(name, v)
				}
			}
		}
		if v, _ := tx.Msg.GetString(48); v != "" {
			if pd, err := iso.ParsePrivateData(v); err == nil {
				for _, e := range pd {
					if e.Tag == iso.ElementCVV2 {
						sec.add("CVV2 sent", e.Value, randomCVV)
					}
				}
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		r, err := c.Do(ctx, tx)
		if err != nil {
			t.Fatalf("ISO request %s: %v", tx.STAN, err)
		}
		if len(want) > 0 && !slices.Contains(want, r.Code) {
			t.Errorf("%s %s %s: answered %s, want %v", tx.MTI, tx.Entry, tx.ProcessingCode, r.Code, want)
		}
		return r
	}
	wrongPIN := "5823"
	sec.add("wrong PIN", wrongPIN, chosenPIN)
	for _, card := range cards {
		o := terminal.TxnOptions{}
		chip := send(mk(term.Purchase(card, 15000, o)))
		if chip.Code != iso.Approved {
			t.Fatalf("chip purchase on %s: %s", card, chip.Code)
		}
		send(mk(term.Purchase(card, 15100, terminal.TxnOptions{Entry: terminal.EntryContactless})), iso.Approved)
		send(mk(term.Purchase(card, 15200, terminal.TxnOptions{Entry: terminal.EntryMagstripe, PIN: card.PIN.Reveal()})), iso.Approved)
		send(mk(term.Purchase(card, 15300, terminal.TxnOptions{Entry: terminal.EntryMagstripe, PIN: wrongPIN})), iso.IncorrectPIN)
		ecom := send(mk(term.Purchase(card, 15400, terminal.TxnOptions{Entry: terminal.EntryEcommerce, CVV2: card.CVV2.Reveal()})), iso.Approved)
		wrongCVV2 := fmt.Sprintf("%03d", (atoi(card.CVV2.Reveal())+1)%1000)
		sec.add("wrong CVV2", wrongCVV2, randomCVV)
		send(mk(term.Purchase(card, 15500, terminal.TxnOptions{Entry: terminal.EntryEcommerce, CVV2: wrongCVV2})), iso.CryptographicFailure)
		send(mk(term.Purchase(card, 15600, terminal.TxnOptions{Entry: terminal.EntryMagstripe, WrongTrackCVV: true})), iso.CryptographicFailure)
		send(mk(term.Purchase(card, 15700, terminal.TxnOptions{Chip: terminal.ChipTamper{ARQC: true}})), iso.CryptographicFailure)
		send(mk(term.Reversal(chip.Txn, terminal.ReversalOptions{})), iso.Approved)
		keep := int64(7700)
		send(mk(term.Reversal(ecom.Txn, terminal.ReversalOptions{Keep: &keep})), iso.Approved)
		auth := send(mk(term.Purchase(card, 15800, o)), iso.Approved)
		send(mk(term.Capture(auth.Txn, 15000, auth.ApprovalCode)), iso.Approved)
		fin := send(mk(term.Request(card, 15900, terminal.TxnOptions{MTI: "0200"})), iso.Approved)
		send(mk(fin.Txn.Retransmit(false, nil)), iso.Approved)
		send(mk(term.BalanceInquiry(card, terminal.TxnOptions{Entry: terminal.EntryMagstripe, PIN: card.PIN.Reveal()})))
		send(mk(term.Advice(card, 16000, terminal.TxnOptions{Entry: terminal.EntryMagstripe})), iso.Approved)
	}
	// A PIN under the zone PIN key imported with the CLI (secretsAcquirer).
	other, err := terminal.NewTerminal(terminal.TerminalConfig{TerminalID: "SECRET02", AcquirerID: secretsAcquirer, ZPK: zpk})
	if err != nil {
		t.Fatal(err)
	}
	for _, card := range cards {
		send(mk(other.Purchase(card, 16200, terminal.TxnOptions{Entry: terminal.EntryMagstripe, PIN: card.PIN.Reveal()})), iso.Approved)
		break
	}
	// An unknown card, and the imported card keyed in by hand.
	unknown, err := terminal.NewCard(terminal.CardSpec{PAN: luhnPAN(t, "4000009"), Expiry: importExpiry, CVV: "123"})
	if err != nil {
		t.Fatal(err)
	}
	send(mk(term.Purchase(unknown, 16300, terminal.TxnOptions{Entry: terminal.EntryMagstripe})), iso.InvalidCardNumber)
	manual, err := terminal.NewCard(terminal.CardSpec{PAN: importPAN, Expiry: importExpiry, CVV: "000"})
	if err != nil {
		t.Fatal(err)
	}
	send(mk(term.Purchase(manual, 16400, terminal.TxnOptions{Entry: terminal.EntryManual})))
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// metricLabels adds /metrics' label values as one JSON document, so that
// short secrets are searched there as in structured logs.
func metricLabels(obs *corpus, exposition []byte) {
	labelRE := regexp.MustCompile(`(\w+)="((?:[^"\\]|\\.)*)"`)
	var pairs []map[string]string
	for _, line := range strings.Split(string(exposition), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		for _, m := range labelRE.FindAllStringSubmatch(line, -1) {
			pairs = append(pairs, map[string]string{m[1]: m[2]})
		}
	}
	b, _ := json.Marshal(pairs)
	obs.add("/metrics labels", b, true)
}

// checkPANsSealed: the cards table holds no PAN in clear (only BIN and
// last four): each card's sealed PAN does not contain it and is longer
// (nonce and tag), and its index is not an unkeyed digest of it.
func checkPANsSealed(t *testing.T, conn *pgxv5.Conn, pans []string) {
	t.Helper()
	rows, err := conn.Query(t.Context(), `SELECT id, bin, last4, pan_cipher, pan_index, row_to_json(c)::text FROM cards c`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	byLast4 := map[string][]string{}
	for _, p := range pans {
		byLast4[p[len(p)-4:]] = append(byLast4[p[len(p)-4:]], p)
	}
	checked := 0
	for rows.Next() {
		var id, bin, last4, row string
		var sealed, index []byte
		if err := rows.Scan(&id, &bin, &last4, &sealed, &index, &row); err != nil {
			t.Fatal(err)
		}
		for _, pan := range byLast4[last4] {
			if !strings.HasPrefix(pan, bin) {
				continue
			}
			checked++
			s256 := sha256.Sum256([]byte(pan))
			s1 := sha1.Sum([]byte(pan))
			switch {
			case strings.Contains(row, pan) || bytes.Contains(sealed, []byte(pan)):
				t.Errorf("card %s: its row holds the PAN in clear", id)
			case len(sealed) < len(pan)+16:
				t.Errorf("card %s: a sealed PAN of %d bytes cannot be an AEAD ciphertext of %d digits", id, len(sealed), len(pan))
			case bytes.Equal(index, s256[:]) || bytes.Equal(index, s1[:]):
				t.Errorf("card %s: the PAN index is an unkeyed digest of the PAN", id)
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if checked < len(pans) {
		t.Fatalf("found %d of the %d cards by BIN and last four", checked, len(pans))
	}
}

// checkKeyBlocks opens the HSM over the stored key blocks with the right
// master key (the card's CVK recomputes its CVV2, the PAN-DEK opens its
// PAN) and with another master key (both fail), and checks that no stored
// key block contains a key whose clear value the test knows.
func checkKeyBlocks(t *testing.T, env map[string]string, conn *pgxv5.Conn, clearKeys map[string][]byte, cardID, pan, cvv2 string) {
	t.Helper()
	ctx := t.Context()
	db, err := postgres.Open(ctx, postgres.Config{URL: env["DATABASE_URL"]}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	right, err := softhsm.New(softhsm.Config{MasterKeyFile: filepath.Join(env["CARDHOST_DATA_DIR"], "master.key")}, db.KeyStore())
	if err != nil {
		t.Fatal(err)
	}
	other := make([]byte, 32)
	rand.Read(other)
	wrong, err := softhsm.New(softhsm.Config{MasterKeyHex: emv.Sensitive(hex.EncodeToString(other))}, db.KeyStore())
	if err != nil {
		t.Fatal(err)
	}
	var tenant, cvkRef, expiry, dekRef string
	var cvkVersion int
	var sealed []byte
	if err := conn.QueryRow(ctx, `SELECT c.tenant_id, c.cvk_ref, c.cvk_version, c.expiry, c.pan_cipher, k.ref
		FROM cards c, key_roles k WHERE c.id = $1 AND k.role = 'pan-dek'`, cardID).Scan(&tenant, &cvkRef, &cvkVersion, &expiry, &sealed, &dekRef); err != nil {
		t.Fatal(err)
	}
	ops := func(h *softhsm.HSM) (emv.CVV, emv.PAN, error, error) {
		c, err1 := h.RevealCVV2(ctx, cvkRef, cvkVersion, emv.PAN(pan), expiry)
		p, err2 := h.OpenPAN(ctx, dekRef, tenant, cardID, sealed)
		return c, p, err1, err2
	}
	if c, p, err1, err2 := ops(right); err1 != nil || err2 != nil || c.Reveal() != cvv2 || p.Reveal() != pan {
		t.Fatalf("the stored CVK and PAN-DEK under their master key: CVV2 ok %v (%v), PAN ok %v (%v)", c.Reveal() == cvv2, err1, p.Reveal() == pan, err2)
	}
	if _, _, err1, err2 := ops(wrong); err1 == nil || err2 == nil {
		t.Errorf("key blocks opened under another master key: CVK %v, PAN-DEK %v", err1, err2)
	}
	rows, err := conn.Query(ctx, `SELECT ref, type, wrapped FROM hsm_keys`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var ref, typ string
		var wrapped []byte
		if err := rows.Scan(&ref, &typ, &wrapped); err != nil {
			t.Fatal(err)
		}
		n++
		for name, k := range clearKeys {
			for _, form := range [][]byte{k, []byte(hex.EncodeToString(k)), []byte(strings.ToUpper(hex.EncodeToString(k)))} {
				if bytes.Contains(wrapped, form) {
					t.Errorf("the %s key block %s contains the %s", typ, ref, name)
				}
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 10 {
		t.Fatalf("only %d key blocks stored", n)
	}
}

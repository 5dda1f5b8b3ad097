package sandbox

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/moov-io/iso8583"

	"github.com/cardhost/cardhost/cmd/termsim/terminal"
	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/host"
	hostpg "github.com/cardhost/cardhost/host/postgres"
	"github.com/cardhost/cardhost/iso"
	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/ledger"
	"github.com/cardhost/cardhost/issuance/lifecycle"
	"github.com/cardhost/cardhost/issuance/rest"
)

// Simulator implements rest.Simulator: it acts as an acquirer connected to
// the host's own ISO 8583 port, so a simulated authorization goes through
// exactly the code path of a real one (framing, unpack, pipeline, commit).
// Sandbox only. Set the fields before first use; safe for concurrent use
// after that.
type Simulator struct {
	// Addr is the host's ISO 8583 port (host:port); TLS says it speaks TLS.
	Addr string
	TLS  bool
	// ClientCert is presented when the ISO port requires mutual TLS.
	ClientCert *tls.Certificate
	// Ledger finds the card and, by its retransmission key, the record the
	// host stored for each simulated message.
	Ledger *hostpg.Ledger
	// Vault opens the card's sealed PAN under the PAN key DEKRef, and
	// computes the CVV2 printed on it (what the simulated cardholder
	// types).
	Vault interface {
		OpenPAN(ctx context.Context, dekRef, tenant, cardID string, sealed []byte) (emv.PAN, error)
		RevealCVV2(ctx context.Context, cvkRef string, version int, pan emv.PAN, expiry string) (emv.CVV, error)
		GenerateCVVSet(ctx context.Context, cvkRef string, pan emv.PAN, expiry, serviceCode string) (emv.CVVSet, error)
	}
	DEKRef string
	// Engine expires holds and clears records (Expire, Clear).
	Engine *host.Engine
	Now    func() time.Time // default time.Now

	mu     sync.Mutex
	client *terminal.Client
}

// simAcquirer is field 32 of simulated messages; simTerminal field 41.
const (
	simAcquirer = "99999999999"
	simTerminal = "SIMULATR"
)

var _ rest.Simulator = (*Simulator)(nil)

func (s *Simulator) conn(ctx context.Context) (*terminal.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client != nil {
		select {
		case <-s.client.Done():
			s.client = nil
		default:
			return s.client, nil
		}
	}
	var opts []terminal.Option
	if s.TLS {
		tc := &tls.Config{InsecureSkipVerify: true} // sandbox: our own port
		if s.ClientCert != nil {
			tc.Certificates = []tls.Certificate{*s.ClientCert}
		}
		opts = append(opts, terminal.WithTLS(tc))
	}
	c, err := terminal.Dial(ctx, s.Addr, opts...)
	if err != nil {
		return nil, fmt.Errorf("connecting the simulator to the ISO port: %w", err)
	}
	s.client = c
	return c, nil
}

// Close closes the connection to the ISO port, if one is open.
func (s *Simulator) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client != nil {
		s.client.Close()
		s.client = nil
	}
}

// header are the identifying fields of one simulated message.
type header struct {
	mti, stan, transmission, rrn string
}

func (s *Simulator) newHeader(mti string) header {
	var b [3]byte
	_, _ = rand.Read(b[:])
	stan := fmt.Sprintf("%06d", (int(b[0])<<16|int(b[1])<<8|int(b[2]))%1_000_000)
	now := time.Now().UTC()
	if s.Now != nil {
		now = s.Now().UTC()
	}
	return header{mti: mti, stan: stan, transmission: iso.FormatTransmissionTime(now), rrn: now.Format("0102150405") + stan[4:]}
}

// cardCVV2 is the CVV2 the cardholder reads: the printed one, or the
// dynamic CVV2 in force (issuance/lifecycle), as the reveal call shows it.
func (s *Simulator) cardCVV2(ctx context.Context, card *host.Card, pan emv.PAN) (emv.CVV, error) {
	if card.CVV2Policy != lifecycle.PolicyDynamic {
		return s.Vault.RevealCVV2(ctx, card.CVKRef, card.CVKVersion, pan, card.Expiry)
	}
	now := time.Now().UTC()
	if s.Now != nil {
		now = s.Now().UTC()
	}
	window, sc := card.CurrentInput(card.CreatedAt, now)
	set, err := s.Vault.GenerateCVVSet(ctx, card.CVKRef, pan, window, sc)
	return set.CVV, err
}

// send sends m (from terminal termID) and returns the record the host stored for
// it, found by the message's retransmission key.
func (s *Simulator) send(ctx context.Context, h header, termID string, m *iso8583.Message) (*host.Authorization, error) {
	c, err := s.conn(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := c.Send(ctx, m); err != nil {
		return nil, fmt.Errorf("simulated %s: %w", h.mti, err)
	}
	key := host.MatchKey(&host.Request{MTI: h.mti, AcquirerID: simAcquirer, Terminal: termID, STAN: h.stan, TransmissionTime: h.transmission, RRN: h.rrn})
	return s.Ledger.AuthorizationByKey(ctx, key)
}

func (s *Simulator) message(h header, pan emv.PAN, processing string, amount int64, currency string) (*iso8583.Message, error) {
	m := iso.NewMessage(h.mti)
	amt, ok := iso.FormatAmount(amount)
	if !ok {
		return nil, &issuance.Error{Slug: issuance.SlugValidationFailed, Message: "amount out of range"}
	}
	for id, v := range map[int]string{
		iso.FieldPAN: pan.Reveal(), iso.FieldProcessingCode: processing, iso.FieldAmount: amt,
		iso.FieldTransmissionTime: h.transmission, iso.FieldSTAN: h.stan, iso.FieldAcquirerID: simAcquirer,
		iso.FieldRRN: h.rrn, iso.FieldTerminal: simTerminal, iso.FieldMerchant: "SIMULATOR000001", iso.FieldCurrency: currency,
	} {
		if err := m.Field(id, v); err != nil {
			return nil, fmt.Errorf("building simulated message: field %d: %w", id, err)
		}
	}
	return m, nil
}

// Authorize implements rest.Simulator.
func (s *Simulator) Authorize(ctx context.Context, tenantID string, r rest.SimAuthorization) (*host.Authorization, error) {
	card, err := s.Ledger.TenantCard(ctx, tenantID, r.CardID)
	if err != nil {
		return nil, err
	}
	pan, err := s.pan(ctx, tenantID, card.ID)
	if err != nil {
		return nil, err
	}
	currency := card.Currency
	if r.Currency != "" {
		currency = r.Currency
	}
	cur, _ := issuance.CurrencyNumeric(currency)
	country := "840"
	if r.Country != "" {
		country, _ = issuance.CountryNumeric(r.Country)
	}
	mti, processing, mcc, entry := "0100", "000000", "5999", "812"
	if r.Financial {
		mti = "0200"
	}
	if r.ProcessingCode != "" {
		processing = r.ProcessingCode
	}
	if r.MCC != "" {
		mcc = r.MCC
	}
	if r.EntryMode == "manual" {
		entry = "012"
	}
	h := s.newHeader(mti)
	m, err := s.message(h, pan, processing, r.Amount, cur)
	if err != nil {
		return nil, err
	}
	name := r.MerchantName
	if name == "" {
		name = "CARDHOST SIMULATOR"
	}
	acceptor := fmt.Sprintf("%-25.25s%-13.13s%-2.2s", strings.ToUpper(name), "SANDBOX", "US")
	fields := map[int]string{iso.FieldMCC: mcc, iso.FieldAcquirerCountry: country, iso.FieldEntryMode: entry, iso.FieldAcceptor: acceptor}
	// The cardholder keys in the printed expiry and CVV2 (a card-not-present
	// request needs them, docs/iso8583.md section 5.3), unless told
	// otherwise.
	if fields[iso.FieldExpiry] = or(r.Expiry, card.Expiry); r.Expiry == "none" {
		delete(fields, iso.FieldExpiry)
	}
	var pd iso.PrivateData
	switch r.CVV2 {
	case "none":
	case "":
		cvv2, err := s.cardCVV2(ctx, card, pan)
		if err != nil {
			return nil, fmt.Errorf("computing the card's CVV2: %w", err)
		}
		pd = append(pd, iso.Element{Tag: iso.ElementCVV2, Value: cvv2.Reveal()})
	default:
		pd = append(pd, iso.Element{Tag: iso.ElementCVV2, Value: r.CVV2})
	}
	if r.PartialSupported {
		pd = append(pd, iso.Element{Tag: iso.ElementPartialApproval, Value: "Y"})
	}
	if len(pd) > 0 {
		fields[iso.FieldPrivateData], _ = pd.Encode()
	}
	for id, v := range fields {
		if err := m.Field(id, v); err != nil {
			return nil, fmt.Errorf("building simulated message: field %d: %w", id, err)
		}
	}
	return s.send(ctx, h, simTerminal, m)
}

// follow-up sends a capture or reversal of a stored authorization.
func (s *Simulator) followUp(ctx context.Context, tenantID, authID, mti string, amount int64, remaining *int64) (*host.Authorization, error) {
	orig, err := s.Ledger.TenantAuthorization(ctx, tenantID, authID)
	if err != nil {
		return nil, err
	}
	if orig.Kind != host.KindAuthorization && orig.Kind != host.KindFinancial && orig.Kind != host.KindAdvice {
		return nil, &issuance.Error{Slug: issuance.SlugConflict, Message: "only an authorization can be captured or reversed"}
	}
	pan, err := s.pan(ctx, tenantID, orig.CardID)
	if err != nil {
		return nil, err
	}
	h := s.newHeader(mti)
	if amount == 0 {
		amount = orig.Amount
	}
	m, err := s.message(h, pan, orig.ProcessingCode, amount, orig.Currency)
	if err != nil {
		return nil, err
	}
	f90, err := iso.OriginalData{MTI: orig.MTI, STAN: orig.STAN, TransmissionTime: orig.TransmissionTime,
		AcquirerID: iso.PadInstitutionID(orig.AcquirerID), ForwardingID: "00000000000"}.Encode()
	if err != nil {
		return nil, fmt.Errorf("building field 90: %w", err)
	}
	if err := m.Field(iso.FieldOriginalData, f90); err != nil {
		return nil, err
	}
	if err := m.Field(iso.FieldTerminal, orig.Terminal); err != nil {
		return nil, err
	}
	if remaining != nil {
		f95, err := iso.ReplacementAmounts{Actual: *remaining, Settlement: *remaining}.Encode()
		if err != nil {
			return nil, &issuance.Error{Slug: issuance.SlugValidationFailed, Message: "remaining_amount out of range"}
		}
		if err := m.Field(iso.FieldReplacementAmounts, f95); err != nil {
			return nil, err
		}
	}
	// The host matches field 90 together with the original's terminal.
	return s.send(ctx, h, orig.Terminal, m)
}

// Capture implements rest.Simulator.
func (s *Simulator) Capture(ctx context.Context, tenantID, authID string, amount int64) (*host.Authorization, error) {
	return s.followUp(ctx, tenantID, authID, "0220", amount, nil)
}

// Reverse implements rest.Simulator.
func (s *Simulator) Reverse(ctx context.Context, tenantID, authID string, remaining *int64) (*host.Authorization, error) {
	return s.followUp(ctx, tenantID, authID, "0400", 0, remaining)
}

func (s *Simulator) pan(ctx context.Context, tenantID, cardID string) (emv.PAN, error) {
	sealed, err := s.Ledger.SealedPAN(ctx, tenantID, cardID)
	if err != nil {
		return "", err
	}
	pan, err := s.Vault.OpenPAN(ctx, s.DEKRef, tenantID, cardID, sealed)
	if err != nil {
		return "", fmt.Errorf("opening the card's PAN: %w", err)
	}
	return pan, nil
}

// Expire implements rest.Simulator: the hold expiry job's work, now.
func (s *Simulator) Expire(ctx context.Context, tenantID, authID string) (*host.Authorization, error) {
	if _, err := s.Ledger.TenantAuthorization(ctx, tenantID, authID); err != nil {
		return nil, err
	}
	ok, err := s.Engine.ExpireHold(ctx, authID, true)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, &issuance.Error{Slug: issuance.SlugConflict, Message: "this authorization holds no money (a LIMIT card's, or posted, voided or expired already)"}
	}
	return s.Ledger.TenantAuthorization(ctx, tenantID, authID)
}

// Clear implements rest.Simulator: a clearing record of the authorization
// (its card's PAN, approval code and RRN), through the clearing path.
func (s *Simulator) Clear(ctx context.Context, tenantID, authID string, r rest.SimClearing) (*host.Authorization, error) {
	orig, err := s.Ledger.TenantAuthorization(ctx, tenantID, authID)
	if err != nil {
		return nil, err
	}
	card, err := s.Ledger.TenantCard(ctx, tenantID, orig.CardID)
	if err != nil {
		return nil, err
	}
	pan, err := s.pan(ctx, tenantID, card.ID)
	if err != nil {
		return nil, err
	}
	rec := ledger.ClearingRecord{Type: r.Type, PAN: pan, Amount: r.Amount, Currency: card.Currency, ApprovalCode: orig.ApprovalCode,
		RRN: orig.RRN, ARN: r.ARN, MCC: orig.MCC, Merchant: "CARDHOST SIMULATOR"}
	if rec.Type == "" {
		rec.Type = ledger.ClearingPurchase
	}
	if rec.MCC == "" {
		rec.MCC = "5999"
	}
	if rec.ARN == "" {
		var b [8]byte
		_, _ = rand.Read(b[:])
		rec.ARN = fmt.Sprintf("74%021d", binary.BigEndian.Uint64(b[:])%1_000_000_000_000_000_000)
	}
	res, err := s.Engine.Clear(ctx, rec)
	if err != nil {
		return nil, err
	}
	return s.Ledger.TenantAuthorization(ctx, tenantID, res.RecordID)
}

// or returns v, or def when v is empty.
func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

package issuance

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/kafka"
)

// Table tests of the card domain's rules at the Service level, over the
// function-field fakes of fakes_test.go (no HTTP, no PostgreSQL).

// eventTypes lists the types of a change's events.
func eventTypes(evs []kafka.Event) string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return strings.Join(out, ",")
}

func TestChangeStatusRules(t *testing.T) {
	processing := &Order{ID: "ord_1", Status: OrderProcessing, IssueStatus: IssueEmbossing}
	for _, tc := range []struct {
		name    string
		from    Status
		order   *Order
		action  StatusAction
		reason  string
		slug    string // rejection, or "" for success
		to      Status
		reason2 string
		events  string
	}{
		{name: "freeze an active card", from: StatusActive, action: ActionFreeze, to: StatusFrozen, events: kafka.TypeCardFrozen},
		{name: "freeze a frozen card", from: StatusFrozen, action: ActionFreeze, slug: SlugInvalidStatusTransition},
		{name: "unfreeze a frozen card", from: StatusFrozen, action: ActionUnfreeze, to: StatusActive, events: kafka.TypeCardUnfrozen},
		{name: "unfreeze an active card", from: StatusActive, action: ActionUnfreeze, slug: SlugInvalidStatusTransition},
		{name: "block lost", from: StatusActive, action: ActionBlock, reason: "lost", to: StatusBlocked, reason2: "lost", events: kafka.TypeCardBlocked},
		{name: "block a frozen card", from: StatusFrozen, action: ActionBlock, reason: "fraud", to: StatusBlocked, reason2: "fraud", events: kafka.TypeCardBlocked},
		{name: "block needs a reason", from: StatusActive, action: ActionBlock, slug: SlugValidationFailed},
		{name: "block with an unknown reason", from: StatusActive, action: ActionBlock, reason: "bored", slug: SlugValidationFailed},
		{name: "block a canceled card", from: StatusCanceled, action: ActionBlock, reason: "lost", slug: SlugInvalidStatusTransition},
		{name: "cancel defaults its reason", from: StatusActive, action: ActionCancel, to: StatusCanceled, reason2: StatusReasonIssuer, events: kafka.TypeCardCanceled},
		{name: "cancel a blocked card", from: StatusBlocked, action: ActionCancel, slug: SlugInvalidStatusTransition},
		{name: "cancel before embossing fails the order", from: StatusProvisioned, order: processing, action: ActionCancel, to: StatusCanceled, reason2: StatusReasonIssuer,
			events: kafka.TypeCardCanceled + "," + kafka.TypeOrderFailed},
		{name: "a reason too long", from: StatusActive, action: ActionCancel, reason: strings.Repeat("x", MaxStatusReason+1), slug: SlugValidationFailed},
		{name: "an unknown action", from: StatusActive, action: "thaw", slug: SlugValidationFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ch CardChange
			cards := &fakeCards{updateCard: lockedCard(Card{ID: "crd_1", TenantID: "ten_1", Status: tc.from}, tc.order, &ch)}
			c, err := fakeService(cards, nil, nil).ChangeStatus(context.Background(), "ten_1", "crd_1", tc.action, tc.reason)
			wantRejection(t, err, tc.slug, "")
			if tc.slug != "" {
				return
			}
			if c.Status != tc.to || c.StatusReason != tc.reason2 || eventTypes(ch.Events) != tc.events {
				t.Fatalf("status %s (%q), events %s; want %s (%q), %s", c.Status, c.StatusReason, eventTypes(ch.Events), tc.to, tc.reason2, tc.events)
			}
			if closedEarly := tc.order != nil; ch.Dequeue != closedEarly || ch.OrderChanged != closedEarly ||
				(closedEarly && (ch.Order.Status != OrderFailed || ch.Order.LastErrorSlug != slugCardClosedBeforeIssue)) {
				t.Fatalf("dequeue %v, order changed %v (%+v)", ch.Dequeue, ch.OrderChanged, ch.Order)
			}
		})
	}
}

func TestUpdateCardRules(t *testing.T) {
	amount := func(n int64) *int64 { return &n }
	count := func(n int) *int { return &n }
	name := func(s string) *string { return &s }
	later := testNow.Add(24 * time.Hour)
	beyond := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	active := Card{ID: "crd_1", Status: StatusActive, Expiry: "3012", EmbossingStatus: EmbossingNotRequired}
	for _, tc := range []struct {
		name  string
		card  Card
		u     CardUpdate
		slug  string
		field string
		check func(Card) bool
	}{
		{name: "nothing to update", card: active, slug: SlugNothingToUpdate},
		{name: "a card limit", card: active, u: CardUpdate{CardLimit: amount(5000)}, check: func(c Card) bool { return *c.CardLimit == 5000 }},
		{name: "a zero card limit", card: active, u: CardUpdate{CardLimit: amount(0)}, slug: SlugValidationFailed, field: "card_limit"},
		{name: "a limit beyond field 4", card: active, u: CardUpdate{CardLimit: amount(MaxAmount + 1)}, slug: SlugValidationFailed, field: "card_limit"},
		{name: "a daily spending control", card: active, u: CardUpdate{SpendingControls: &[]SpendingControl{{Amount: amount(100), Interval: Daily, MCC: []string{"5411"}}}},
			check: func(c Card) bool { return len(c.SpendingControls) == 1 }},
		{name: "a control without amount or count", card: active, u: CardUpdate{SpendingControls: &[]SpendingControl{{Interval: Daily}}}, slug: SlugValidationFailed, field: "spending_controls[0]"},
		{name: "an unknown interval", card: active, u: CardUpdate{SpendingControls: &[]SpendingControl{{Amount: amount(1), Interval: "HOURLY"}}}, slug: SlugValidationFailed, field: "spending_controls[0].interval"},
		{name: "a count per transaction", card: active, u: CardUpdate{SpendingControls: &[]SpendingControl{{Count: count(2), Interval: PerTransaction}}}, slug: SlugValidationFailed, field: "spending_controls[0].count"},
		{name: "a bad MCC in a control", card: active, u: CardUpdate{SpendingControls: &[]SpendingControl{{Amount: amount(1), Interval: Daily, MCC: []string{"54"}}}}, slug: SlugValidationFailed, field: "spending_controls[0].mcc[0]"},
		{name: "too many controls", card: active, u: CardUpdate{SpendingControls: func() *[]SpendingControl {
			cs := make([]SpendingControl, 21)
			for i := range cs {
				cs[i] = SpendingControl{Amount: amount(1), Interval: Daily}
			}
			return &cs
		}()}, slug: SlugValidationFailed, field: "spending_controls"},
		{name: "risk controls", card: active, u: CardUpdate{RiskControls: &RiskControls{BlockedMCC: []string{"7995"}, AllowedCountries: []string{"BR", "076"}}},
			check: func(c Card) bool { return !c.RiskControls.AllowsMCC("7995") }},
		{name: "an unknown country", card: active, u: CardUpdate{RiskControls: &RiskControls{AllowedCountries: []string{"XX"}}}, slug: SlugValidationFailed, field: "risk_controls.allowed_countries[0]"},
		{name: "a bad allowed MCC", card: active, u: CardUpdate{RiskControls: &RiskControls{AllowedMCC: []string{"ABCD"}}}, slug: SlugValidationFailed, field: "risk_controls.allowed_mcc[0]"},
		{name: "metadata that is not an object", card: active, u: CardUpdate{Metadata: json.RawMessage(`[1]`)}, slug: SlugValidationFailed, field: "metadata"},
		{name: "expiry_at in the past", card: active, u: CardUpdate{ExpiryAt: &time.Time{}}, slug: SlugValidationFailed, field: "expiry_at"},
		{name: "expiry_at before the printed expiry", card: active, u: CardUpdate{ExpiryAt: &later}, check: func(c Card) bool { return c.ExpiryAt.Equal(later) }},
		{name: "expiry_at after the printed expiry", card: active, u: CardUpdate{ExpiryAt: &beyond}, slug: SlugValidationFailed, field: "expiry_at"},
		{name: "a closed card", card: Card{ID: "crd_1", Status: StatusCanceled}, u: CardUpdate{CardLimit: amount(1)}, slug: SlugCardClosed},
		{name: "a printed name before embossing", card: Card{ID: "crd_1", Status: StatusProvisioned, EmbossingStatus: EmbossingPending}, u: CardUpdate{PrintedName: name("ana souza")},
			check: func(c Card) bool { return c.PrintedName == "ANA SOUZA" }},
		{name: "a printed name once sent", card: Card{ID: "crd_1", Status: StatusProvisioned, EmbossingStatus: EmbossingSent}, u: CardUpdate{PrintedName: name("ana souza")}, slug: SlugPrintedNameLocked},
		{name: "an invalid printed name", card: active, u: CardUpdate{PrintedName: name("R2-D2!")}, slug: SlugValidationFailed, field: "printed_name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ch CardChange
			cards := &fakeCards{updateCard: lockedCard(tc.card, nil, &ch)}
			c, err := fakeService(cards, nil, nil).UpdateCard(context.Background(), "ten_1", "crd_1", tc.u)
			wantRejection(t, err, tc.slug, tc.field)
			if tc.slug != "" {
				return
			}
			if !tc.check(c) || eventTypes(ch.Events) != kafka.TypeCardControlsUpdated {
				t.Fatalf("card %+v, events %s", c, eventTypes(ch.Events))
			}
		})
	}
}

func TestCreateCardRules(t *testing.T) {
	verified := Cardholder{ID: "chd_1", FirstName: "Ana", LastName: "Souza", KYCStatus: KYCVerified}
	pending := Cardholder{ID: "chd_2", FirstName: "Rui", LastName: "Lima", KYCStatus: KYCPending}
	for _, tc := range []struct {
		name  string
		world func(*cardWorld)
		req   CardRequest
		slug  string
		field string
		check func(Card) bool
	}{
		{name: "a virtual card", req: CardRequest{ProductID: "prd_1", CardHolderName: "ana souza"},
			check: func(c Card) bool {
				return c.Status == StatusActive && c.UsageType == UsageNormal && c.PINLength == DefaultPINLength
			}},
		{name: "a one-time card", req: CardRequest{ProductID: "prd_1", CardHolderName: "ana souza", UsageType: UsageOneTime, AutoCancelTrigger: CancelOnAuth},
			check: func(c Card) bool { return c.UsageType == UsageOneTime && c.AutoCancelTrigger == CancelOnAuth }},
		{name: "a one-time card needs its trigger", req: CardRequest{ProductID: "prd_1", CardHolderName: "ana souza", UsageType: UsageOneTime},
			slug: SlugValidationFailed, field: "auto_cancel_trigger"},
		{name: "a normal card takes no trigger", req: CardRequest{ProductID: "prd_1", CardHolderName: "ana souza", AutoCancelTrigger: CancelOnAuth},
			slug: SlugValidationFailed, field: "auto_cancel_trigger"},
		{name: "an unknown usage type", req: CardRequest{ProductID: "prd_1", CardHolderName: "ana souza", UsageType: "TWICE"}, slug: SlugValidationFailed, field: "usage_type"},
		{name: "a PIN length of 5", req: CardRequest{ProductID: "prd_1", CardHolderName: "ana souza", PINLength: 5}, slug: SlugValidationFailed, field: "pin_length"},
		{name: "an unknown currency", req: CardRequest{ProductID: "prd_1", CardHolderName: "ana souza", Currency: "XYZ"}, slug: SlugValidationFailed, field: "currency"},
		{name: "a PIN block without its key", req: CardRequest{ProductID: "prd_1", CardHolderName: "ana souza", EncipheredPINBlock: emv.PINBlock(strings.Repeat("0", 32))},
			slug: SlugValidationFailed, field: "incoming_pek.key_reference"},
		{name: "no cardholder at all", req: CardRequest{ProductID: "prd_1"}, slug: SlugValidationFailed, field: "cardholder_id"},
		{name: "an unknown product", req: CardRequest{ProductID: "prd_9", CardHolderName: "ana souza"}, slug: SlugProductNotFound},
		{name: "an inactive product", world: func(w *cardWorld) { w.product.Status = ProductInactive },
			req: CardRequest{ProductID: "prd_1", CardHolderName: "ana souza"}, slug: SlugProductNotActive},
		{name: "an unknown cardholder", req: CardRequest{ProductID: "prd_1", CardholderID: "chd_9"}, slug: SlugCardholderNotFound},
		{name: "a verified cardholder of a KYC product", world: func(w *cardWorld) { w.product.RequireKYC = true },
			req: CardRequest{ProductID: "prd_1", CardholderID: "chd_1"}, check: func(c Card) bool { return c.CardholderID == "chd_1" && c.PrintedName == "ANA SOUZA" }},
		{name: "a pending cardholder of a KYC product", world: func(w *cardWorld) { w.product.RequireKYC = true },
			req: CardRequest{ProductID: "prd_1", CardholderID: "chd_2"}, slug: SlugCardholderNotReady},
		{name: "a name only for a KYC product", world: func(w *cardWorld) { w.product.RequireKYC = true },
			req: CardRequest{ProductID: "prd_1", CardHolderName: "ana souza"}, slug: SlugValidationFailed, field: "cardholder_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newCardWorld(0)
			w.holders[verified.ID], w.holders[pending.ID] = verified, pending
			if tc.world != nil {
				tc.world(w)
			}
			c, _, err := w.service().CreateCard(context.Background(), "ten_1", tc.req)
			wantRejection(t, err, tc.slug, tc.field)
			if tc.slug != "" {
				if len(w.created) != 0 {
					t.Fatal("a rejected request stored a card")
				}
				return
			}
			if !tc.check(c) || len(w.created) != 1 {
				t.Fatalf("card %+v (%d stored)", c, len(w.created))
			}
		})
	}
	t.Run("platform keys missing", func(t *testing.T) {
		w := newCardWorld(0)
		svc := w.service()
		svc.d.Keys = SystemKeys{}
		_, _, err := svc.CreateCard(context.Background(), "ten_1", CardRequest{ProductID: "prd_1", CardHolderName: "ana souza"})
		wantRejection(t, err, SlugKeyNotConfigured, "")
	})
}

func TestSetPINRules(t *testing.T) {
	block := emv.PINBlock(strings.Repeat("A", 32))
	pek := &PEKRef{KeyReference: "ipk_1"}
	withPIN := Card{ID: "crd_1", TenantID: "ten_1", Status: StatusActive, PVKRef: "key_pvk", PINMethod: PINMethodPVV, PVKI: "1"}
	badBlock := errors.New("bad block")
	for _, tc := range []struct {
		name  string
		card  Card
		req   PINSetRequest
		vault error
		slug  string
		field string
	}{
		{name: "a PIN set", card: withPIN, req: PINSetRequest{EncipheredPINBlock: block, IncomingPEK: pek}},
		{name: "no block", card: withPIN, req: PINSetRequest{IncomingPEK: pek}, slug: SlugValidationFailed, field: "enciphered_pin_block"},
		{name: "no key reference", card: withPIN, req: PINSetRequest{EncipheredPINBlock: block}, slug: SlugValidationFailed, field: "incoming_pek.key_reference"},
		{name: "a block that is not 32 hex", card: withPIN, req: PINSetRequest{EncipheredPINBlock: "1234", IncomingPEK: pek}, slug: SlugValidationFailed, field: "enciphered_pin_block"},
		{name: "a closed card", card: Card{ID: "crd_1", Status: StatusCanceled, PVKRef: "key_pvk"}, req: PINSetRequest{EncipheredPINBlock: block, IncomingPEK: pek}, slug: SlugCardClosed},
		{name: "a card without PVK", card: Card{ID: "crd_1", Status: StatusActive, PINMethod: PINMethodPVV}, req: PINSetRequest{EncipheredPINBlock: block, IncomingPEK: pek}, slug: SlugPINNotSupported},
		{name: "an unknown key reference", card: withPIN, req: PINSetRequest{EncipheredPINBlock: block, IncomingPEK: &PEKRef{KeyReference: "ipk_9"}}, slug: SlugIncomingPEKNotFound, field: "incoming_pek.key_reference"},
		{name: "a block that does not decipher", card: withPIN, req: PINSetRequest{EncipheredPINBlock: block, IncomingPEK: pek}, vault: badBlock, slug: SlugPINBlockInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ch CardChange
			cards := &fakeCards{card: func(_, id string) (Card, error) { return tc.card, nil }, updateCard: lockedCard(tc.card, nil, &ch)}
			cat := &fakeCatalog{issuerPublicKey: func(ref string) ([]byte, time.Time, error) {
				if ref != pek.KeyReference {
					return nil, time.Time{}, ErrNotFound
				}
				return []byte("issuer key"), testNow.Add(time.Hour), nil
			}}
			vault := &fakeVault{
				openPAN: func(string, []byte) (emv.PAN, error) { return "4000001800000002", nil },
				setPIN: func(req emv.PINSet, c emv.PINCheck) (emv.PINVerificationData, error) {
					if req.ECDHRef != "key_ecdh" || string(req.IssuerPublicKey) != "issuer key" || c.Method != emv.PINMethodPVV || c.PVKRef != "key_pvk" {
						t.Fatalf("SetPIN(%+v, %+v)", req, c)
					}
					return emv.PINVerificationData{Method: emv.PINMethodPVV, PVV: "1234", PVKI: "1"}, tc.vault
				},
				isInputError: func(err error) bool { return err == badBlock },
			}
			c, err := fakeService(cards, cat, vault).SetPIN(context.Background(), "ten_1", "crd_1", tc.req)
			wantRejection(t, err, tc.slug, tc.field)
			if tc.slug != "" {
				return
			}
			if c.PINVerify != "1234" || !ch.ResetPINTries || ch.SandboxPIN == nil || eventTypes(ch.Events) != kafka.TypeCardPINChanged {
				t.Fatalf("card %+v, change %+v", c, ch)
			}
		})
	}
}

func TestSubmitBatchRules(t *testing.T) {
	item := json.RawMessage(`{"product_id": "prd_1", "reference_id": "r1"}`)
	items := func(n int) []json.RawMessage {
		out := make([]json.RawMessage, n)
		for i := range out {
			out[i] = item
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		req      BatchRequest
		existing []byte // hash of a batch stored under the request_id (nil: none)
		slug     string
		field    string
		replayed bool
	}{
		{name: "a batch", req: BatchRequest{RequestID: "b-1", CardBatchInfo: items(3)}},
		{name: "no request_id", req: BatchRequest{CardBatchInfo: items(1)}, slug: SlugValidationFailed, field: "request_id"},
		{name: "an invisible request_id", req: BatchRequest{RequestID: "b\x01", CardBatchInfo: items(1)}, slug: SlugValidationFailed, field: "request_id"},
		{name: "no items", req: BatchRequest{RequestID: "b-1"}, slug: SlugValidationFailed, field: "card_batch_info"},
		{name: "too many items", req: BatchRequest{RequestID: "b-1", CardBatchInfo: items(MaxBatchItems + 1)}, slug: SlugValidationFailed, field: "card_batch_info"},
		{name: "an item that is not an object", req: BatchRequest{RequestID: "b-1", CardBatchInfo: []json.RawMessage{item, json.RawMessage(`[]`)}}, slug: SlugValidationFailed, field: "card_batch_info[1]"},
		{name: "the same batch again", req: BatchRequest{RequestID: "b-1", CardBatchInfo: items(3)}, existing: []byte("same"), replayed: true},
		{name: "a request_id used for other items", req: BatchRequest{RequestID: "b-1", CardBatchInfo: items(2)}, existing: []byte("other"), slug: SlugRequestIDReused, field: "request_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stored []Order
			cards := &fakeCards{createBatch: func(b Batch, requests [][]byte, orders []Order) (Batch, bool, error) {
				if len(requests) != b.Total || len(orders) != b.Total {
					t.Fatalf("%d requests, %d orders for %d items", len(requests), len(orders), b.Total)
				}
				switch string(tc.existing) {
				case "":
					stored = orders
					return b, false, nil
				case "same":
					return b, true, nil // the stored batch has the same hash
				}
				b.RequestHash = tc.existing
				return b, true, nil
			}}
			b, replayed, err := fakeService(cards, nil, nil).SubmitBatch(context.Background(), "ten_1", tc.req)
			wantRejection(t, err, tc.slug, tc.field)
			if tc.slug != "" {
				return
			}
			if replayed != tc.replayed || b.Status != BatchProcessing || b.Total != len(tc.req.CardBatchInfo) {
				t.Fatalf("batch %+v, replayed %v", b, replayed)
			}
			for i, o := range stored {
				if o.BatchID != b.ID || o.BatchIndex != i || o.Status != OrderNew || o.ReferenceID != "r1" {
					t.Fatalf("order %d: %+v", i, o)
				}
			}
		})
	}
}

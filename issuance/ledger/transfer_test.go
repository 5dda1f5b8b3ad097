package ledger

import (
	"errors"
	"testing"
	"time"
)

var now = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func hold(amount int64) Transfer {
	exp := now.Add(DefaultHoldExpiry)
	t := New(KindHold, "ten_1", CardAccount("crd_1"), TenantAccount(AccountSettlement, "ten_1", "EUR"), amount, "EUR", now)
	t.Pending, t.ExpiresAt = true, &exp
	return t
}

func TestEffects(t *testing.T) {
	h := hold(1000)
	post := Resolve(KindPost, h, 800, "auth_2", now)
	void := Resolve(KindVoid, h, 0, "auth_3", now)
	expire := Resolve(KindExpire, h, 999999, "", now)
	debit := New(KindDebit, "ten_1", h.Debit, h.Credit, 300, "EUR", now)
	tests := []struct {
		name     string
		t        Transfer
		hold     *Transfer
		debit    Effect
		credit   Effect
		wantErr  error
		reduces  bool
		released int64
	}{
		{name: "hold reserves", t: h, debit: Effect{Account: h.Debit, DebitsPending: 1000}, credit: Effect{Account: h.Credit, CreditsPending: 1000}, reduces: true},
		{name: "single-phase posts", t: debit, debit: Effect{Account: h.Debit, DebitsPosted: 300}, credit: Effect{Account: h.Credit, CreditsPosted: 300}, reduces: true},
		{name: "post for less releases the rest", t: post, hold: &h,
			debit: Effect{Account: h.Debit, DebitsPending: -1000, DebitsPosted: 800}, credit: Effect{Account: h.Credit, CreditsPending: -1000, CreditsPosted: 800}},
		{name: "void releases all", t: void, hold: &h, debit: Effect{Account: h.Debit, DebitsPending: -1000}, credit: Effect{Account: h.Credit, CreditsPending: -1000}},
		{name: "expiry releases all whatever amount was asked", t: expire, hold: &h, debit: Effect{Account: h.Debit, DebitsPending: -1000}, credit: Effect{Account: h.Credit, CreditsPending: -1000}},
		{name: "resolution without its hold", t: void, wantErr: ErrHoldMissing},
		{name: "post above the hold", t: func() Transfer { p := post; p.Amount = 1001; return p }(), hold: &h, wantErr: ErrHoldMismatch},
		{name: "resolution of other accounts", t: func() Transfer { p := post; p.Debit = "acct_card_crd_2"; return p }(), hold: &h, wantErr: ErrHoldMismatch},
		{name: "a posted transfer is no hold", t: void, hold: &debit, wantErr: ErrHoldMissing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eff, err := Effects(tc.t, tc.hold)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if eff[0] != tc.debit || eff[1] != tc.credit {
				t.Fatalf("effects %+v, want %+v and %+v", eff, tc.debit, tc.credit)
			}
			if eff[0].Reduces() != tc.reduces {
				t.Fatalf("Reduces() = %v", eff[0].Reduces())
			}
		})
	}
}

func TestEffectsSumToZero(t *testing.T) {
	h := hold(500)
	var accts = map[string]*Account{}
	for _, tr := range []struct {
		t Transfer
		h *Transfer
	}{{h, nil}, {Resolve(KindPost, h, 450, "a", now), &h}, {New(KindRefund, "ten_1", h.Credit, h.Debit, 100, "EUR", now), nil}} {
		eff, err := Effects(tr.t, tr.h)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range eff {
			if accts[e.Account] == nil {
				accts[e.Account] = &Account{ID: e.Account}
			}
			accts[e.Account].Apply(e)
		}
	}
	var posted, pending int64
	for _, a := range accts {
		posted += a.CreditsPosted - a.DebitsPosted
		pending += a.CreditsPending - a.DebitsPending
	}
	if posted != 0 || pending != 0 {
		t.Fatalf("sums %d posted, %d pending", posted, pending)
	}
	if got := accts[h.Debit].Balance(); got != (Balance{Available: -350, Posted: -350}) {
		t.Fatalf("card balance %+v", got)
	}
}

func TestValidate(t *testing.T) {
	ok := New(KindDeposit, "ten_1", "acct_funding_ten_1_EUR", "acct_program_ten_1_EUR", 10, "EUR", now)
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	h := hold(10)
	for name, mutate := range map[string]func(*Transfer){
		"zero amount":       func(t *Transfer) { t.Amount = 0 },
		"negative amount":   func(t *Transfer) { t.Amount = -5 },
		"unknown kind":      func(t *Transfer) { t.Kind = "gift" },
		"same accounts":     func(t *Transfer) { t.Credit = t.Debit },
		"bad currency":      func(t *Transfer) { t.Currency = "EURO" },
		"deposit with hold": func(t *Transfer) { t.PendingID = h.ID },
		"pending deposit":   func(t *Transfer) { t.Pending = true },
	} {
		bad := ok
		mutate(&bad)
		if err := bad.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	noExpiry := h
	noExpiry.ExpiresAt = nil
	if err := noExpiry.Validate(); !errors.Is(err, ErrInvalid) {
		t.Errorf("a hold without expiry: %v", err)
	}
}

func TestAccountIDs(t *testing.T) {
	if got := SourceAccount(ModePrepaid, "ten_1", "crd_9", "EUR"); got != "acct_card_crd_9" {
		t.Errorf("prepaid source %q", got)
	}
	if got := SourceAccount(ModeShared, "ten_1", "crd_9", "EUR"); got != "acct_program_ten_1_EUR" {
		t.Errorf("shared source %q", got)
	}
	if got := SourceAccount(ModeLimit, "ten_1", "crd_9", "EUR"); got != "" {
		t.Errorf("limit source %q", got)
	}
	for _, k := range AccountKinds {
		id := TenantAccount(k, "ten_1", "USD")
		if k == AccountCard {
			id = CardAccount("crd_1")
		}
		if KindOf(id) != k {
			t.Errorf("KindOf(%q) = %q", id, KindOf(id))
		}
	}
	if KindOf("crd_1") != "" {
		t.Error("a card id is no account")
	}
	// Lock order: card, then program, then settlement.
	c, p, s := CardAccount("crd_ZZZ"), TenantAccount(AccountProgram, "ten_1", "EUR"), TenantAccount(AccountSettlement, "ten_1", "EUR")
	if !(c < p && p < s) {
		t.Errorf("account ids do not sort card < program < settlement: %s %s %s", c, p, s)
	}
}

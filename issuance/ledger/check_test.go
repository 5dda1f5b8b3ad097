package ledger

import (
	"strings"
	"testing"
)

// replay applies transfers to accounts with Effects, as the database does,
// and returns the stored accounts.
func replay(t *testing.T, accts []Account, ts []Transfer) []Account {
	t.Helper()
	byID := map[string]*Account{}
	for i := range accts {
		byID[accts[i].ID] = &accts[i]
	}
	holds := map[string]Transfer{}
	for _, tr := range ts {
		var h *Transfer
		if tr.Kind.Resolves() {
			x := holds[tr.PendingID]
			h = &x
		}
		eff, err := Effects(tr, h)
		if err != nil {
			t.Fatal(err)
		}
		byID[eff[0].Account].Apply(eff[0])
		byID[eff[1].Account].Apply(eff[1])
		if tr.Pending {
			holds[tr.ID] = tr
		}
	}
	return accts
}

func ledgerFixture() ([]Account, []Transfer, Approval) {
	card, program := CardAccount("crd_1"), TenantAccount(AccountProgram, "ten_1", "EUR")
	funding, settlement := TenantAccount(AccountFunding, "ten_1", "EUR"), TenantAccount(AccountSettlement, "ten_1", "EUR")
	accts := []Account{
		{ID: card, Kind: AccountCard, Currency: "EUR", NoOverdraft: true},
		{ID: program, Kind: AccountProgram, Currency: "EUR", NoOverdraft: true},
		{ID: funding, Kind: AccountFunding, Currency: "EUR"},
		{ID: settlement, Kind: AccountSettlement, Currency: "EUR"},
	}
	dep := New(KindDeposit, "ten_1", funding, program, 10000, "EUR", now)
	rch := New(KindRecharge, "ten_1", program, card, 3000, "EUR", now)
	h1 := hold(1000)
	h1.AuthorizationID = "auth_1"
	post := Resolve(KindPost, h1, 900, "auth_2", now)
	h2 := hold(500)
	h2.AuthorizationID = "auth_3"
	return accts, []Transfer{dep, rch, h1, post, h2}, Approval{ID: "auth_3", HoldID: h2.ID, HoldAmount: 500}
}

func check(accts []Account, ts []Transfer, approvals ...Approval) ([]Violation, []string) {
	c := NewChecker()
	for _, a := range accts {
		c.Account(a)
	}
	for _, tr := range ts {
		c.Transfer(tr)
	}
	for _, a := range approvals {
		c.Approval(a)
	}
	return c.Finish()
}

func TestCheckerPassesAConsistentLedger(t *testing.T) {
	accts, ts, open := ledgerFixture()
	stored := replay(t, accts, ts)
	v, notes := check(stored, ts, Approval{ID: "auth_1"}, open)
	if len(v) != 0 || len(notes) != 0 {
		t.Fatalf("violations %v, notes %v", v, notes)
	}
}

func TestCheckerFindsEachBrokenInvariant(t *testing.T) {
	tests := []struct {
		name   string
		breakf func(accts []Account, ts []Transfer, open *Approval) ([]Account, []Transfer)
		rule   string
	}{
		{"a total edited by hand", func(a []Account, ts []Transfer, _ *Approval) ([]Account, []Transfer) {
			a[0].CreditsPosted += 5
			return a, ts
		}, "balance_mismatch"},
		{"money out of nowhere", func(a []Account, ts []Transfer, _ *Approval) ([]Account, []Transfer) {
			a[2].DebitsPosted -= 7 // funding account gave less than the program got
			return a, ts
		}, "zero_sum"},
		{"a transfer to an account that does not exist", func(a []Account, ts []Transfer, _ *Approval) ([]Account, []Transfer) {
			return a, append(ts, New(KindFee, "ten_1", a[1].ID, "acct_fees_ten_1_EUR", 1, "EUR", now))
		}, "unknown_account"},
		{"a non-forced overdraft", func(a []Account, ts []Transfer, _ *Approval) ([]Account, []Transfer) {
			return a, append(ts, New(KindWithdraw, "ten_1", a[0].ID, a[1].ID, 5000, "EUR", now))
		}, "overdraft"},
		{"a hold resolved twice", func(a []Account, ts []Transfer, _ *Approval) ([]Account, []Transfer) {
			return a, append(ts, Resolve(KindVoid, ts[2], 0, "auth_9", now))
		}, "hold"},
		{"an approval whose hold was voided", func(a []Account, ts []Transfer, _ *Approval) ([]Account, []Transfer) {
			return a, append(ts, Resolve(KindVoid, ts[4], 0, "auth_9", now))
		}, "approval"},
		{"an open hold no authorization holds", func(a []Account, ts []Transfer, open *Approval) ([]Account, []Transfer) {
			open.HoldAmount = 0
			return a, ts
		}, "hold"},
		{"an approval without any transfer", func(a []Account, ts []Transfer, open *Approval) ([]Account, []Transfer) {
			open.ID = "auth_404"
			return a, ts
		}, "approval"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			accts, ts, open := ledgerFixture()
			accts, ts = tc.breakf(accts, ts, &open)
			// The stored totals are what the transfers made of them, then
			// the fixture's own damage (applied to the stored rows only).
			damaged := append([]Account(nil), accts...)
			clean, _, _ := ledgerFixture()
			stored := replay(t, clean, ts[:min(len(ts), 5)])
			for i := range stored {
				stored[i].DebitsPending += damaged[i].DebitsPending
				stored[i].DebitsPosted += damaged[i].DebitsPosted
				stored[i].CreditsPending += damaged[i].CreditsPending
				stored[i].CreditsPosted += damaged[i].CreditsPosted
			}
			v, _ := check(stored, ts, open)
			found := false
			for _, x := range v {
				found = found || x.Rule == tc.rule
			}
			if !found {
				t.Fatalf("no %s violation in %v", tc.rule, v)
			}
		})
	}
}

func TestCheckerNotesForcedOverdrafts(t *testing.T) {
	accts, ts, open := ledgerFixture()
	force := New(KindForcePost, "ten_1", accts[0].ID, accts[3].ID, 5000, "EUR", now)
	force.Forced = true
	ts = append(ts, force)
	stored := replay(t, accts, ts)
	v, notes := check(stored, ts, open)
	if len(v) != 0 {
		t.Fatalf("a forced posting is no violation: %v", v)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "overdrawn") {
		t.Fatalf("notes %v", notes)
	}
}

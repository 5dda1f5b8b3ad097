package main

import (
	"regexp"
	"strings"
	"testing"
)

// TestFundingCommands: `cardhost funding credit|debit` moves money once
// per reference, audited; a debit beyond the balance and bad input are
// refused (exit 2) and move nothing; `cardhost ledger check` passes after
// and `cardhost reports settlement` answers.
func TestFundingCommands(t *testing.T) {
	getenv, _, _ := cliEnv(t, "")
	out := cliOK(t, getenv, "tenants", "create", "--name", "Funded Issuer")
	tenant := regexp.MustCompile(`ten_[0-9A-Z]{26}`).FindString(out)
	if tenant == "" {
		t.Fatalf("no tenant id in %q", out)
	}
	fund := func(sub, amount, ref string) (int, string, string) {
		return cli(t, getenv, "funding", sub, "--tenant", tenant, "--currency", "EUR", "--amount", amount, "--reference", ref,
			"--operator", "alice", "--reason", "test")
	}
	if code, out, errs := fund("credit", "5000", "WIRE-1"); code != 0 || !strings.Contains(out, "program balance 0 -> 5000") {
		t.Fatalf("credit: exit %d %q %q", code, out, errs)
	}
	if code, _, errs := fund("credit", "5000", "WIRE-1"); code != 2 || !strings.Contains(errs, "duplicate_reference") {
		t.Fatalf("the same reference again: exit %d %q", code, errs)
	}
	if code, _, errs := fund("debit", "6000", "PAYOUT-1"); code != 2 || !strings.Contains(errs, "insufficient_funds") {
		t.Fatalf("a debit beyond the balance: exit %d %q", code, errs)
	}
	if code, _, errs := fund("debit", "-3", "PAYOUT-2"); code != 2 || !strings.Contains(errs, "validation_failed") {
		t.Fatalf("a negative amount: exit %d %q", code, errs)
	}
	if code, _, errs := cli(t, getenv, "funding", "credit", "--tenant", "ten_01M90SKDXDKNGGCWDPHVAVQ68F", "--currency", "EUR", "--amount", "1",
		"--reference", "X", "--operator", "alice", "--reason", "test"); code != 2 || !strings.Contains(errs, "no tenant") {
		t.Fatalf("an unknown tenant: exit %d %q", code, errs)
	}
	if code, out, _ := fund("debit", "1500", "PAYOUT-3"); code != 0 || !strings.Contains(out, "program balance 5000 -> 3500") {
		t.Fatalf("debit: exit %d %q", code, out)
	}
	if out := cliOK(t, getenv, "ledger", "check"); !strings.Contains(out, "ledger check passed: 2 transfers") {
		t.Fatalf("ledger check: %q", out)
	}
	if out := cliOK(t, getenv, "reports", "settlement", "--date", "2026-05-01"); !strings.Contains(out, "no clearing records that day") {
		t.Fatalf("report: %q", out)
	}
	if code, _, errs := cli(t, getenv, "reports", "settlement", "--date", "May 1st"); code != 2 || !strings.Contains(errs, "date") {
		t.Fatalf("a bad date: exit %d %q", code, errs)
	}
}

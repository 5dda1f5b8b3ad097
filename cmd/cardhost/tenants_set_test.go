package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
)

// TestTenantsSet: the operator sets a tenant's idempotency policy and
// default currency with `cardhost tenants set` (as PATCH /v1/tenant);
// bad values are refused with exit 2 and change nothing.
func TestTenantsSet(t *testing.T) {
	getenv, url, mk := cliEnv(t, "")
	a := regexp.MustCompile(`ten_[0-9A-Z]{26}`).FindString(cliOK(t, getenv, "tenants", "create", "--name", "Issuer A"))
	out := cliOK(t, getenv, "tenants", "set", "--tenant", a, "--idempotency-policy", "required", "--default-currency", "brl")
	if !strings.Contains(out, "idempotency_policy required, default_currency BRL") {
		t.Fatalf("tenants set printed %q", out)
	}
	for _, args := range [][]string{
		{"tenants", "set", "--tenant", a, "--idempotency-policy", "sometimes"},
		{"tenants", "set", "--tenant", a, "--default-currency", "XYZ"},
		{"tenants", "set", "--tenant", a},
		{"tenants", "set", "--idempotency-policy", "optional"},
	} {
		if code, _, _ := cli(t, getenv, args...); code != 2 {
			t.Fatalf("%v: exit %d, want 2", args, code)
		}
	}
	db, _ := openCLIStore(t, url, mk)
	ten, err := db.Tenant(context.Background(), a)
	if err != nil || ten.IdempotencyPolicy != "required" || ten.DefaultCurrency != "BRL" {
		t.Fatalf("tenant settings %+v, %v", ten.TenantSettings, err)
	}
}

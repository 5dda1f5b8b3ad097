package main

import (
	"strings"
	"testing"
)

// TestSubAccountHostOperations runs the real app: the operator makes a
// sandbox sub-account of the sandbox tenant with `cardhost tenants create
// --parent` (seeded like any sandbox tenant, with its own API key), the
// host authorizes the sub-account's card over ISO 8583 like any card, the
// parent reads and drives it acting for the sub-account (x-on-behalf-of),
// and neither reaches the other's cards or authorizations without it:
// 404 exactly as for missing ones.
func TestSubAccountHostOperations(t *testing.T) {
	env := testEnv(t)
	env["CARDHOST_HTTP_RATE_LIMIT"] = "-1"
	app := startApp(t, env)
	p := newAPIClient(t, app.base(), app.sandboxKey(t))
	var parent struct{ ID string }
	p.do("GET", "/v1/tenant", nil).must(t, 200).decode(t, &parent)
	getenv := getenvOf(env)

	// The operator's command: refusals first, each creating nothing.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--parent", "ten_01M90000000000000000000000"}, "not_found"},
		{[]string{"--parent", parent.ID, "--sandbox"}, "parent's mode"},
	} {
		code, out, errs := cli(t, getenv, append([]string{"tenants", "create", "--name", "Refused Sub"}, c.args...)...)
		if code != 2 || !strings.Contains(errs, c.want) || strings.Contains(out, "chk_") {
			t.Fatalf("tenants create %v: exit %d, %q %q; want 2 naming %s", c.args, code, out, errs, c.want)
		}
	}
	out := cliOK(t, getenv, "tenants", "create", "--name", "Operator Sub", "--parent", parent.ID)
	subKey := apiKeyRE.FindString(out)
	f := strings.Fields(out)
	if subKey == "" || len(f) < 2 || !strings.HasPrefix(f[1], "ten_") || !strings.Contains(out, "a sub-account of "+parent.ID) || !strings.Contains(out, "seeded") {
		t.Fatalf("tenants create --parent printed %q", out)
	}
	subID := f[1]
	if code, _, errs := cli(t, getenv, "tenants", "create", "--name", "Grandchild", "--parent", subID); code != 2 || !strings.Contains(errs, "sub_accounts_not_allowed") {
		t.Fatalf("a sub-account of a sub-account: exit %d %q, want 2 sub_accounts_not_allowed", code, errs)
	}
	list := cliOK(t, getenv, "tenants", "list")
	found := false
	for _, line := range strings.Split(list, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == subID {
			found = f[len(f)-1] == parent.ID
		}
		if strings.Contains(line, "Grandchild") || strings.Contains(line, "Refused Sub") {
			t.Fatalf("tenants list shows a refused tenant: %q", line)
		}
	}
	if !found || !strings.Contains(list, "PARENT") {
		t.Fatalf("tenants list does not show %s with its parent %s:\n%s", subID, parent.ID, list)
	}

	s := newAPIClient(t, app.base(), subKey)
	var ten struct {
		ID       string `json:"id"`
		ParentID string `json:"parent_id"`
		Sandbox  bool   `json:"sandbox"`
	}
	s.do("GET", "/v1/tenant", nil).must(t, 200).decode(t, &ten)
	if ten.ID != subID || ten.ParentID != parent.ID || !ten.Sandbox {
		t.Fatalf("the sub-account's GET /v1/tenant: %+v", ten)
	}

	// Each makes a card and an authorization through the host's own port.
	type made struct{ card, auth string }
	issue := func(c *apiClient, product, name string, headers ...string) made {
		t.Helper()
		var card struct {
			ID string `json:"card_id"`
		}
		c.do("POST", "/v1/cards", map[string]any{"product_id": product, "card_holder_name": name}, headers...).must(t, 201).decode(t, &card)
		var auth struct {
			ID   string `json:"authorization_id"`
			Code string `json:"response_code"`
		}
		c.do("POST", "/v1/simulator/authorizations", map[string]any{"card_id": card.ID, "amount": 1234}, headers...).must(t, 201).decode(t, &auth)
		if auth.Code != "00" {
			t.Fatalf("%s's authorization answered %s", name, auth.Code)
		}
		return made{card.ID, auth.ID}
	}
	subProduct := firstProduct(t, s)
	subOwn := issue(s, subProduct, "SUB OWN KEY")
	// The parent acting for its sub-account, with the sub-account's product.
	onBehalf := []string{"x-on-behalf-of", subID}
	subByParent := issue(p, subProduct, "SUB BY PARENT", onBehalf...)
	parents := issue(p, firstProduct(t, p), "PARENT OWN")

	var auths struct {
		Data []struct {
			ID string `json:"authorization_id"`
		}
	}
	p.do("GET", "/v1/cards/"+subOwn.card+"/authorizations", nil, onBehalf...).must(t, 200).decode(t, &auths)
	if len(auths.Data) != 1 || auths.Data[0].ID != subOwn.auth {
		t.Fatalf("the parent acting for its sub-account lists %+v, want %s", auths.Data, subOwn.auth)
	}
	s.do("GET", "/v1/authorizations/"+subByParent.auth, nil).must(t, 200)
	p.do("GET", "/v1/cards/"+subByParent.card+"/spend", nil, onBehalf...).must(t, 200)

	// Without the header the parent reaches none of the sub-account's host
	// records; the sub-account none of its parent's.
	for _, probe := range []struct {
		what    string
		c       *apiClient
		card    made
		headers []string
	}{
		{"the parent without x-on-behalf-of", p, subOwn, nil},
		{"the sub-account's own key", s, parents, nil},
		{"the parent acting for its sub-account", p, parents, onBehalf},
	} {
		values := map[string]string{"card id": probe.card.card, "authorization id": probe.card.auth}
		ids := map[string]string{"cards": probe.card.card, "authorizations": probe.card.auth}
		for _, op := range openAPIOperations(t, app.base()) {
			coll, host := hostOperations[op.ID]
			if !host || coll == "" {
				continue
			}
			hostProbe(t, probe.what+": "+op.ID, 404, values, func(missing bool) apiAnswer {
				ref := ids[coll]
				if missing {
					ref = missingID(ref)
				}
				return probe.c.do(op.Method, strings.Replace(op.Path, "{id}", ref, 1), hostBodies[op.ID], probe.headers...)
			})
		}
	}
}

package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/cardhost/cardhost/issuance"
)

// TestStatusButtons: the card page's unfreeze, block and cancel buttons
// move the card through the API's service call, each only with the
// session's CSRF token (without it: 403, the card unchanged).
func TestStatusButtons(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.browser(e.base)
	b.signIn(e.a.key)
	status := func(id string) issuance.Card {
		t.Helper()
		c, err := e.svc.Card(ctx, e.a.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	// press posts action's form of the card, first without the token
	// (refused, nothing changes), then with it; it answers the page the
	// redirect leads to.
	press := func(c issuance.Card, action string, form url.Values) page {
		t.Helper()
		before := status(c.ID).Status
		path := "/console/cards/" + c.ID + "/status/" + action
		if p := b.post(path, form); p.Status != http.StatusForbidden || !strings.Contains(p.Body, "CSRF") {
			t.Errorf("%s without the CSRF token: %d, want 403 naming the token", action, p.Status)
		}
		if got := status(c.ID).Status; got != before {
			t.Fatalf("%s without the CSRF token moved the card from %s to %s", action, before, got)
		}
		if p := b.get("/console/cards/"+c.ID).must(t, http.StatusOK); !strings.Contains(p.Body, `action="`+path+`"`) {
			t.Fatalf("a %s card's page has no %s button", before, action)
		}
		with := url.Values{"csrf_token": {b.csrf("/console/cards/" + c.ID)}}
		for k, v := range form {
			with[k] = v
		}
		p := b.post(path, with).must(t, http.StatusSeeOther)
		if want := "/console/cards/" + c.ID + "?done=" + action; p.Header.Get("Location") != want {
			t.Fatalf("%s redirects to %q, want %q", action, p.Header.Get("Location"), want)
		}
		return b.get(p.Header.Get("Location")).must(t, http.StatusOK)
	}

	c := e.card(e.a, "")
	b.post("/console/cards/"+c.ID+"/status/freeze", url.Values{"csrf_token": {b.csrf("/console/cards/" + c.ID)}}).must(t, http.StatusSeeOther)
	if got := status(c.ID).Status; got != issuance.StatusFrozen {
		t.Fatalf("after freeze: %s", got)
	}
	p := press(c, "unfreeze", nil)
	if got := status(c.ID).Status; got != issuance.StatusActive {
		t.Fatalf("after unfreeze: %s, want ACTIVE", got)
	}
	if !strings.Contains(p.Body, "The card is active again.") || !strings.Contains(p.Body, "status-ACTIVE") {
		t.Error("the card page after unfreeze shows no notice or not the new status")
	}

	p = press(c, "block", url.Values{"reason": {"stolen"}})
	if got := status(c.ID); got.Status != issuance.StatusBlocked || got.StatusReason != "stolen" {
		t.Fatalf("after block: %s (%q), want BLOCKED (stolen)", got.Status, got.StatusReason)
	}
	if !strings.Contains(p.Body, "The card is blocked.") || !strings.Contains(p.Body, "status-BLOCKED") || strings.Contains(p.Body, "/status/") {
		t.Error("the card page after block shows no notice, not the new status, or buttons a blocked card cannot use")
	}

	c2 := e.card(e.a, "")
	p = press(c2, "cancel", nil)
	if got := status(c2.ID); got.Status != issuance.StatusCanceled || got.StatusReason != issuance.StatusReasonIssuer {
		t.Fatalf("after cancel: %s (%q), want CANCELED (issuer)", got.Status, got.StatusReason)
	}
	if !strings.Contains(p.Body, "The card is canceled.") || !strings.Contains(p.Body, "status-CANCELED") {
		t.Error("the card page after cancel shows no notice or not the new status")
	}
}

// TestBlockReasonError: a refused block answers the card page with the
// API's field error in the block form, next to the reason, and changes
// nothing.
func TestBlockReasonError(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.card(e.a, "")
	b := e.browser(e.base)
	b.signIn(e.a.key)
	token := b.csrf("/console/cards/" + c.ID)
	for name, reason := range map[string][]string{"no reason": nil, "not a block reason": {"bored"}} {
		p := b.post("/console/cards/"+c.ID+"/status/block", url.Values{"csrf_token": {token}, "reason": reason}).must(t, http.StatusUnprocessableEntity)
		start := strings.Index(p.Body, `class="inline action-block"`)
		if start < 0 {
			t.Fatalf("%s: the refused block's page has no block form", name)
		}
		form := p.Body[start:]
		form = form[:strings.Index(form, "</form>")]
		sel := strings.Index(form, `name="reason"`)
		msg := strings.Index(form, `<span class="field-error" role="alert">one of lost, stolen, fraud, other <code>reason</code></span>`)
		if sel < 0 || msg < sel {
			t.Errorf("%s: the block form does not show the reason's field error after the field:\n%s", name, form)
		}
		if n := strings.Count(p.Body, "one of lost, stolen, fraud, other"); n != 1 {
			t.Errorf("%s: the field error is shown %d times, want once (in the block form)", name, n)
		}
	}
	if got, _ := e.svc.Card(context.Background(), e.a.ID, c.ID); got.Status != issuance.StatusActive {
		t.Fatalf("a refused block changed the card: %s", got.Status)
	}
	// A move the transition table refuses has no field: its message shows,
	// and no form gets a field error.
	b.post("/console/cards/"+c.ID+"/status/freeze", url.Values{"csrf_token": {token}}).must(t, http.StatusSeeOther)
	p := b.post("/console/cards/"+c.ID+"/status/freeze", url.Values{"csrf_token": {token}}).must(t, http.StatusConflict)
	if !strings.Contains(p.Body, "cannot freeze") || strings.Contains(p.Body, "field-error") {
		t.Errorf("a refused transition's page:\n%s", p.Body)
	}
}

// TestCardSearchByStatus: the status search lists the cards in that status
// only; a status that is not one answers 422 with the API's field error
// next to the status field.
func TestCardSearchByStatus(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	blocked, frozen, active := e.card(e.a, ""), e.card(e.a, ""), e.card(e.a, "")
	if _, err := e.svc.ChangeStatus(ctx, e.a.ID, blocked.ID, issuance.ActionBlock, "lost"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.ChangeStatus(ctx, e.a.ID, frozen.ID, issuance.ActionFreeze, ""); err != nil {
		t.Fatal(err)
	}
	theirs := e.card(e.b, "")
	if _, err := e.svc.ChangeStatus(ctx, e.b.ID, theirs.ID, issuance.ActionBlock, "lost"); err != nil {
		t.Fatal(err)
	}
	b := e.browser(e.base)
	b.signIn(e.a.key)
	for status, want := range map[string]issuance.Card{"BLOCKED": blocked, "FROZEN": frozen, "ACTIVE": active} {
		p := b.get("/console/cards?status="+status).must(t, http.StatusOK)
		for _, c := range []issuance.Card{blocked, frozen, active, theirs} {
			if listed := strings.Contains(p.Body, `href="/console/cards/`+c.ID+`"`); listed != (c.ID == want.ID) {
				t.Errorf("status=%s lists card %s (%s): %v", status, c.ID, c.Status, listed)
			}
		}
		if !strings.Contains(p.Body, "<option selected>"+status+"</option>") {
			t.Errorf("status=%s: the search form does not keep the status", status)
		}
	}
	p := b.get("/console/cards?status=NOPE").must(t, http.StatusUnprocessableEntity)
	sel, msg := strings.Index(p.Body, `id="status"`), strings.Index(p.Body, `<span class="field-error" role="alert">a card status <code>status</code></span>`)
	if sel < 0 || msg < sel || msg > strings.Index(p.Body, `for="cardholder_id"`) {
		t.Errorf("a bad status has no field error next to the status field:\n%s", p.Body)
	}
	if strings.Contains(p.Body, `href="/console/cards/crd_`) {
		t.Error("a refused search lists cards")
	}
}

// TestCardholderNamedScript: a cardholder whose name is markup (the API's
// validation forbids it, so it is written into the database directly, as
// an older version or another writer might have) renders as text.
func TestCardholderNamedScript(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	c, plain := e.card(e.a, "Grace"), e.card(e.a, "Grace")
	if _, err := e.db.Pool().Exec(ctx, `UPDATE cardholders SET first_name = '<script>', last_name = '</script>' WHERE id = $1`, c.CardholderID); err != nil {
		t.Fatal(err)
	}
	if ch, err := e.cat.Cardholder(ctx, e.a.ID, c.CardholderID); err != nil || ch.FirstName != "<script>" {
		t.Fatalf("cardholder: %q (%v)", ch.FirstName, err)
	}
	b := e.browser(e.base)
	b.signIn(e.a.key)
	p := b.get("/console/cards/"+c.ID).must(t, http.StatusOK)
	if !strings.Contains(p.Body, "<dd>&lt;script&gt; &lt;/script&gt; <span") || strings.Contains(p.Body, "<script> </script>") {
		t.Errorf("the cardholder's name is not escaped")
	}
	// The page has exactly the layout's script elements, as any card's.
	if n, want := strings.Count(p.Body, "<script"), strings.Count(b.get("/console/cards/"+plain.ID).Body, "<script"); n != want {
		t.Errorf("the page has %d script elements, a plain card's page %d", n, want)
	}
}

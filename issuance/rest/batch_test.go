package rest_test

import (
	"context"
	"sync"
	"testing"
)

type batchOut struct {
	BatchID   string `json:"batch_id"`
	RequestID string `json:"request_id"`
	Status    string `json:"status"`
	Total     int    `json:"total"`
	Succeeded int    `json:"succeeded"`
	Failed    int    `json:"failed"`
	Pending   int    `json:"pending"`
	Items     []struct {
		Index        int    `json:"index"`
		Status       string `json:"status"`
		OrderID      string `json:"order_id"`
		CardID       string `json:"card_id"`
		ReferenceID  string `json:"reference_id"`
		ErrorSlug    string `json:"error_slug"`
		ErrorMessage string `json:"error_message"`
		Errors       []struct{ Field, Code string }
	} `json:"items"`
}

func TestBatchWithABadItem(t *testing.T) {
	ce := newCardEnv(t)
	ctx := context.Background()
	items := []map[string]any{
		cardBody(ce.cat.product, map[string]any{"reference_id": "B-0"}),
		cardBody("prd_01HZZZZZZZZZZZZZZZZZZZZZZZ", map[string]any{"reference_id": "B-1"}),
		cardBody(ce.plastic, map[string]any{"reference_id": "B-2", "shipping_address": shipping}),
		cardBody(ce.cat.product, map[string]any{"reference_id": "B-3", "usage_type": "ONE_TIME"}),
		{"product_id": ce.cat.product, "card_holder_name": "X Y", "colour": "red"},
		cardBody(ce.cat.product, map[string]any{"reference_id": "B-0"}), // reference_id of item 0
	}
	body := map[string]any{"request_id": "batch-001", "card_batch_info": items}
	var b batchOut
	mustStatus(t, ce.do("POST", "/v1/card-batches", body), 202).JSON(t, &b)
	if b.BatchID == "" || b.Status != "processing" || b.Total != 6 || b.Pending != 6 {
		t.Fatalf("accepted batch %+v", b)
	}
	var orders struct{ Data []orderOut }
	mustStatus(t, ce.do("GET", "/v1/orders?batch_id="+b.BatchID, nil), 200).JSON(t, &orders)
	if len(orders.Data) != 6 || orders.Data[0].Status != "new" || orders.Data[0].IssueStatus != "data_prep" {
		t.Fatalf("batch orders %+v", orders.Data)
	}

	// Two processors at once settle every item exactly once.
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n, err := ce.svc.ProcessBatchItems(ctx, 2)
				if err != nil {
					t.Error(err)
					return
				}
				if n == 0 {
					return
				}
			}
		}()
	}
	wg.Wait()
	mustStatus(t, ce.do("GET", "/v1/card-batches/"+b.BatchID, nil), 200).JSON(t, &b)
	if b.Status != "completed" || b.Succeeded != 2 || b.Failed != 4 || b.Pending != 0 || len(b.Items) != 6 {
		t.Fatalf("processed batch %+v", b)
	}
	wantStatus := []string{"succeeded", "failed", "succeeded", "failed", "failed", "succeeded"}
	wantSlug := []string{"", "product_not_found", "", "validation_failed", "validation_failed", ""}
	var refTaken int
	for i, it := range b.Items {
		if it.Index != i || it.OrderID == "" {
			t.Fatalf("item %d: %+v", i, it)
		}
		// Items 0 and 5 race for reference_id B-0: whichever comes second fails.
		if i == 0 || i == 5 {
			if it.Status == "failed" {
				refTaken++
				if it.ErrorSlug != "reference_id_taken" {
					t.Fatalf("item %d: %+v", i, it)
				}
			}
			continue
		}
		if it.Status != wantStatus[i] || it.ErrorSlug != wantSlug[i] || (it.Status == "succeeded") != (it.CardID != "") {
			t.Fatalf("item %d: %+v", i, it)
		}
	}
	if refTaken != 1 {
		t.Fatalf("%d of the two B-0 items failed, want 1", refTaken)
	}
	if f := b.Items[3].Errors; len(f) == 0 || f[0].Field != "auto_cancel_trigger" {
		t.Fatalf("item 3 field errors %+v", f)
	}
	if f := b.Items[4].Errors; len(f) == 0 || f[0].Field != "colour" {
		t.Fatalf("item 4 field errors %+v", f)
	}
	// Each item is an order; failed ones published order.failed.
	var failed orderOut
	mustStatus(t, ce.do("GET", "/v1/orders/"+b.Items[1].OrderID, nil), 200).JSON(t, &failed)
	if failed.Status != "failed" || failed.LastErrorSlug != "product_not_found" || failed.BatchID != b.BatchID || failed.CardID != "" {
		t.Fatalf("failed order %+v", failed)
	}
	if n := len(outboxEvents(t, ce.db, "order.failed")); n != 4 {
		t.Fatalf("%d order.failed events, want 4", n)
	}
	// The plastic waits for embossing; the virtual ones are issued.
	if c := ce.getCard(t, b.Items[2].CardID); c.Status != "PROVISIONED" || c.EmbossingStatus != "PENDING" {
		t.Fatalf("plastic from batch %+v", c)
	}
	var cards struct{ Data []cardOut }
	mustStatus(t, ce.do("GET", "/v1/cards", nil), 200).JSON(t, &cards)
	if len(cards.Data) != 2 {
		t.Fatalf("%d cards, want 2", len(cards.Data))
	}
	// Items keep no request (it may carry a PIN block) once settled.
	var kept int
	if err := ce.db.Pool().QueryRow(ctx, `SELECT count(*) FROM card_batch_items WHERE request IS NOT NULL`).Scan(&kept); err != nil || kept != 0 {
		t.Fatalf("%d settled items keep their request (%v)", kept, err)
	}

	// The same request_id and items answer the first batch; other items
	// under it are refused.
	var again batchOut
	mustStatus(t, ce.do("POST", "/v1/card-batches", body), 200).JSON(t, &again)
	if again.BatchID != b.BatchID {
		t.Fatalf("replayed batch %s, want %s", again.BatchID, b.BatchID)
	}
	other := map[string]any{"request_id": "batch-001", "card_batch_info": items[:1]}
	if r := ce.do("POST", "/v1/card-batches", other); r.Status != 422 || r.problem(t).Slug != "request_id_reused" {
		t.Fatalf("reused request_id: %d %s", r.Status, r.Body)
	}
	var list struct{ Data []batchOut }
	mustStatus(t, ce.do("GET", "/v1/card-batches", nil), 200).JSON(t, &list)
	if len(list.Data) != 1 || list.Data[0].Items != nil {
		t.Fatalf("batch list %+v", list.Data)
	}
}

func TestBatchRejections(t *testing.T) {
	ce := newCardEnv(t)
	big := make([]map[string]any, 1001)
	for i := range big {
		big[i] = map[string]any{"product_id": ce.cat.product}
	}
	for _, tc := range []struct {
		name  string
		body  any
		field string
	}{
		{"no request_id", map[string]any{"card_batch_info": []any{map[string]any{}}}, "request_id"},
		{"no items", map[string]any{"request_id": "r", "card_batch_info": []any{}}, "card_batch_info"},
		{"too many items", map[string]any{"request_id": "r", "card_batch_info": big}, "card_batch_info"},
		{"item not an object", map[string]any{"request_id": "r", "card_batch_info": []any{"x"}}, "card_batch_info[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ce.do("POST", "/v1/card-batches", tc.body)
			fieldError(t, r, tc.field, firstCode(t, r, tc.field))
		})
	}
	// Another tenant cannot read the batch.
	var b batchOut
	mustStatus(t, ce.do("POST", "/v1/card-batches", map[string]any{"request_id": "r1", "card_batch_info": []any{cardBody(ce.cat.product, nil)}}), 202).JSON(t, &b)
	_, otherKey := newTenantKey(t, ce.env, "Other")
	if r := ce.doKey(otherKey, "GET", "/v1/card-batches/"+b.BatchID, nil); r.Status != 404 {
		t.Fatalf("other tenant reads the batch: %d", r.Status)
	}
	var orders struct{ Data []orderOut }
	mustStatus(t, ce.doKey(otherKey, "GET", "/v1/orders?batch_id="+b.BatchID, nil), 200).JSON(t, &orders)
	if len(orders.Data) != 0 {
		t.Fatalf("other tenant lists %d orders of the batch", len(orders.Data))
	}
}

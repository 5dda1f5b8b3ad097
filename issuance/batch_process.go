package issuance

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cardhost/cardhost/kafka"
)

// BatchRequest is the body of POST /v1/card-batches: QPay's request_id
// (the batch's own idempotency key) and card_batch_info, each item a card
// request as for POST /v1/cards.
type BatchRequest struct {
	RequestID     string            `json:"request_id" required:"true" doc:"your id for the batch: a repeated request_id with the same items returns the first batch"`
	CardBatchInfo []json.RawMessage `json:"card_batch_info" required:"true" doc:"1 to 1000 card requests, each as the body of POST /v1/cards"`
}

// batchItemLease is how long a claimed batch item is held by one worker.
const batchItemLease = 2 * time.Minute

// maxBatchItemAttempts bounds the tries of an item that keeps failing for
// reasons other than its content.
const maxBatchItemAttempts = 5

// SubmitBatch accepts a batch of card requests for asynchronous issuance:
// one pending item and one new order each. Items are checked when
// processed, so a bad item fails alone. A request_id used before answers
// the first batch (replayed true), or request_id_reused when its items
// differ. Rejections: validation_failed, request_id_reused.
func (s *Service) SubmitBatch(ctx context.Context, tenantID string, req BatchRequest) (Batch, bool, error) {
	var v Validator
	req.RequestID = strings.TrimSpace(req.RequestID)
	v.Check(req.RequestID != "" && len(req.RequestID) <= 255 && printable(req.RequestID), "request_id", "invalid", "1-255 visible characters")
	v.Check(len(req.CardBatchInfo) >= 1 && len(req.CardBatchInfo) <= MaxBatchItems, "card_batch_info", "out_of_range", "1 to 1000 card requests")
	items := make([][]byte, len(req.CardBatchInfo))
	sum := sha256.New()
	for i, raw := range req.CardBatchInfo {
		var buf bytes.Buffer
		t := bytes.TrimSpace(raw)
		if len(t) == 0 || t[0] != '{' || json.Compact(&buf, t) != nil {
			v.Add(fmt.Sprintf("card_batch_info[%d]", i), "invalid", "a card request object")
			continue
		}
		items[i] = buf.Bytes()
		fmt.Fprintf(sum, "%d:", buf.Len())
		sum.Write(buf.Bytes())
	}
	if err := v.Err(); err != nil {
		return Batch{}, false, err
	}
	now := s.now()
	b := Batch{ID: NewID("bat", now), TenantID: tenantID, RequestID: req.RequestID, RequestHash: sum.Sum(nil),
		Status: BatchProcessing, Total: len(items), CreatedAt: now, UpdatedAt: now}
	orders := make([]Order, len(items))
	for i, raw := range items {
		var ref struct {
			ReferenceID string `json:"reference_id"`
		}
		_ = json.Unmarshal(raw, &ref) // best effort: the item is checked when processed
		if len(ref.ReferenceID) > MaxReferenceID {
			ref.ReferenceID = ""
		}
		orders[i] = Order{ID: NewID("ord", now), TenantID: tenantID, Type: OrderCardIssue, Status: OrderNew, IssueStatus: IssueDataPrep,
			BatchID: b.ID, BatchIndex: i, ReferenceID: ref.ReferenceID, CreatedAt: now, UpdatedAt: now}
	}
	got, existed, err := s.d.Cards.CreateBatch(ctx, b, items, orders)
	if err != nil {
		return Batch{}, false, fmt.Errorf("storing batch: %w", err)
	}
	if existed {
		if !bytes.Equal(got.RequestHash, b.RequestHash) {
			return Batch{}, false, &Error{Slug: SlugRequestIDReused, Message: "this request_id was used with other card requests",
				Fields: []FieldError{{Field: "request_id", Code: "taken", Message: "unique per tenant; reuse it only to repeat the same batch"}}}
		}
		return got, true, nil
	}
	s.d.Logger.Info("card batch accepted", "tenant_id", tenantID, "batch_id", got.ID, "items", got.Total)
	return got, false, nil
}

// Batch returns a batch with its items' outcomes.
func (s *Service) Batch(ctx context.Context, tenantID, id string) (Batch, error) {
	if !ValidID("bat", id) {
		return Batch{}, ErrNotFound
	}
	return s.d.Cards.Batch(ctx, tenantID, id)
}

// Batches lists a tenant's batches, newest first.
func (s *Service) Batches(ctx context.Context, tenantID string, p PageRequest) ([]Batch, bool, error) {
	var v Validator
	ValidatePage(&v, p, "bat")
	if err := v.Err(); err != nil {
		return nil, false, err
	}
	return s.d.Cards.Batches(ctx, tenantID, p)
}

// ProcessBatchItems claims up to limit pending batch items and creates
// their cards, returning how many it settled. A rejected item (its
// content, the catalog, the cardholder) fails alone: its order fails with
// the rejection's slug and order.failed is published. An item that fails
// for another reason stays pending and is retried after its lease, at most
// maxBatchItemAttempts times. Safe on several instances at once.
func (s *Service) ProcessBatchItems(ctx context.Context, limit int) (int, error) {
	works, err := s.d.Cards.ClaimBatchItems(ctx, s.now(), batchItemLease, limit)
	if err != nil {
		return 0, fmt.Errorf("claiming batch items: %w", err)
	}
	done := 0
	for _, w := range works {
		if ctx.Err() != nil {
			return done, ctx.Err()
		}
		settled, err := s.processBatchItem(ctx, w)
		if err != nil {
			s.d.Logger.Error("batch item failed; will retry", "tenant_id", w.TenantID, "batch_id", w.BatchID, "index", w.Index, "attempt", w.Attempts, "err", err)
			continue
		}
		if settled {
			done++
		}
	}
	return done, nil
}

// processBatchItem settles one item: a card, or a failed order.
func (s *Service) processBatchItem(ctx context.Context, w BatchWork) (bool, error) {
	o, err := s.d.Cards.Order(ctx, w.TenantID, w.OrderID)
	if err != nil {
		return false, fmt.Errorf("reading order %s: %w", w.OrderID, err)
	}
	if o.Status.Final() {
		return false, nil
	}
	var req CardRequest // decoded as a request body is
	err = DecodeStrict(w.Request, &req)
	if err == nil {
		_, _, err = s.createCard(ctx, w.TenantID, &req, &o)
	}
	var rej *Error
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, ErrOrderSettled):
		return false, nil
	case errors.As(err, &rej):
	case w.Attempts >= maxBatchItemAttempts:
		s.d.Logger.Error("batch item gave up", "tenant_id", w.TenantID, "batch_id", w.BatchID, "index", w.Index, "err", err)
		rej = &Error{Slug: SlugInternal, Message: "the card could not be created; retry it in a new batch"}
	default:
		return false, err
	}
	now := s.now()
	o.fail(IssueDataPrepFailed, rej.Slug, rej.Message, now)
	ev, err := orderEvent(&o, now)
	if err != nil {
		return false, err
	}
	item := BatchItem{Index: w.Index, Status: BatchItemFailed, OrderID: o.ID, ReferenceID: o.ReferenceID,
		ErrorSlug: rej.Slug, ErrorMessage: rej.Message, Errors: rej.Fields}
	if err := s.d.Cards.FailOrder(ctx, o, item, []kafka.Event{ev}); err != nil {
		if errors.Is(err, ErrOrderSettled) {
			return false, nil
		}
		return false, fmt.Errorf("failing order %s: %w", o.ID, err)
	}
	return true, nil
}

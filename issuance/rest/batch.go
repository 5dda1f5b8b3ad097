package rest

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/cardhost/cardhost/issuance"
)

// Card batches (QPay's batch issuance): up to 1000 card requests under
// one request_id, issued asynchronously; each item becomes an order and
// fails alone.

func init() { extraRoutes = append(extraRoutes, (*Server).registerBatchRoutes) }

// batchRequestDoc documents the batch body for OpenAPI: each item is a
// card request (the handler decodes issuance.BatchRequest).
type batchRequestDoc struct {
	RequestID     string                 `json:"request_id" required:"true" doc:"your id for the batch: repeating it with the same items returns the first batch"`
	CardBatchInfo []issuance.CardRequest `json:"card_batch_info" required:"true" doc:"1 to 1000 card requests, each as the body of POST /v1/cards"`
}

type batchItemView struct {
	Index        int                      `json:"index"`
	Status       issuance.BatchItemStatus `json:"status" enum:"pending,succeeded,failed"`
	OrderID      string                   `json:"order_id"`
	CardID       string                   `json:"card_id,omitempty"`
	ReferenceID  string                   `json:"reference_id,omitempty"`
	ErrorSlug    string                   `json:"error_slug,omitempty"`
	ErrorMessage string                   `json:"error_message,omitempty"`
	Errors       []issuance.FieldError    `json:"errors,omitempty"`
}

type batchView struct {
	BatchID     string               `json:"batch_id"`
	RequestID   string               `json:"request_id"`
	Status      issuance.BatchStatus `json:"status" enum:"processing,completed"`
	Total       int                  `json:"total"`
	Succeeded   int                  `json:"succeeded"`
	Failed      int                  `json:"failed"`
	Pending     int                  `json:"pending"`
	CreatedAt   time.Time            `json:"created_at"`
	UpdatedAt   time.Time            `json:"updated_at"`
	CompletedAt *time.Time           `json:"completed_at,omitempty"`
	Items       []batchItemView      `json:"items,omitempty" doc:"per-item results (GET /v1/card-batches/{id} only)"`
}

func viewBatch(b *issuance.Batch) batchView {
	v := batchView{BatchID: b.ID, RequestID: b.RequestID, Status: b.Status, Total: b.Total, Succeeded: b.Succeeded, Failed: b.Failed,
		Pending: b.Total - b.Succeeded - b.Failed, CreatedAt: b.CreatedAt, UpdatedAt: b.UpdatedAt, CompletedAt: b.CompletedAt}
	for _, it := range b.Items {
		v.Items = append(v.Items, batchItemView{Index: it.Index, Status: it.Status, OrderID: it.OrderID, CardID: it.CardID,
			ReferenceID: it.ReferenceID, ErrorSlug: it.ErrorSlug, ErrorMessage: it.ErrorMessage, Errors: it.Errors})
	}
	return v
}

type batchList struct {
	Data    []batchView `json:"data"`
	HasMore bool        `json:"has_more"`
}

func (s *Server) registerBatchRoutes() {
	svc := func() *issuance.Service { return s.deps.Service }
	s.handle(fiber.MethodPost, "/v1/card-batches", operation{ID: "createCardBatch", Summary: "Issue up to 1000 cards asynchronously (202; a repeated request_id answers the first batch with 200)", Tag: "card-batches",
		Idempotent: true, Status: fiber.StatusAccepted, Request: batchRequestDoc{}, Response: batchView{}},
		func(c *fiber.Ctx) error {
			var req issuance.BatchRequest
			if err := decodeJSON(c, &req); err != nil {
				return err
			}
			b, existed, err := svc().SubmitBatch(c.UserContext(), tenantOf(c).ID, req)
			if err != nil {
				return err
			}
			status := fiber.StatusAccepted
			if existed {
				status = fiber.StatusOK
			}
			return c.Status(status).JSON(viewBatch(&b))
		})
	s.handle(fiber.MethodGet, "/v1/card-batches", operation{ID: "listCardBatches", Summary: "List card batches, newest first", Tag: "card-batches",
		Response: batchList{}, Query: pageQueryParams},
		func(c *fiber.Ctx) error {
			p, err := pageOf(c)
			if err != nil {
				return err
			}
			bs, more, err := svc().Batches(c.UserContext(), tenantOf(c).ID, p)
			if err != nil {
				return err
			}
			out := batchList{Data: make([]batchView, len(bs)), HasMore: more}
			for i := range bs {
				out.Data[i] = viewBatch(&bs[i])
			}
			return c.JSON(out)
		})
	s.handle(fiber.MethodGet, "/v1/card-batches/:id", operation{ID: "getCardBatch", Summary: "Get a card batch with per-item results", Tag: "card-batches", Response: batchView{}},
		func(c *fiber.Ctx) error {
			b, err := svc().Batch(c.UserContext(), tenantOf(c).ID, c.Params("id"))
			if err != nil {
				return err
			}
			return c.JSON(viewBatch(&b))
		})
}

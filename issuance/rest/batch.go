package rest

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/cardhost/cardhost/issuance"
)

// Card batches (QPay's batch issuance): up to 1000 card requests under
// one request_id, issued asynchronously; each item becomes an order and
// fails alone.

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

func viewBatch(b issuance.Batch) batchView {
	v := batchView{BatchID: b.ID, RequestID: b.RequestID, Status: b.Status, Total: b.Total, Succeeded: b.Succeeded, Failed: b.Failed,
		Pending: b.Total - b.Succeeded - b.Failed, CreatedAt: b.CreatedAt, UpdatedAt: b.UpdatedAt, CompletedAt: b.CompletedAt}
	for _, it := range b.Items {
		v.Items = append(v.Items, batchItemView{Index: it.Index, Status: it.Status, OrderID: it.OrderID, CardID: it.CardID,
			ReferenceID: it.ReferenceID, ErrorSlug: it.ErrorSlug, ErrorMessage: it.ErrorMessage, Errors: it.Errors})
	}
	return v
}

type batchList page[batchView]

func (s *Server) createCardBatch(c *fiber.Ctx) error {
	var req issuance.BatchRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	b, existed, err := s.deps.Service.SubmitBatch(c.UserContext(), tenantOf(c).ID, req)
	if err != nil {
		return err
	}
	status := fiber.StatusAccepted
	if existed {
		status = fiber.StatusOK
	}
	return c.Status(status).JSON(viewBatch(b))
}

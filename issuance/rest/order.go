package rest

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/cardhost/cardhost/issuance"
)

// Card orders (PintoPay's orders): one per card create, with an
// issue_status sub-status, so issuers can follow asynchronous issuance.

type orderView struct {
	OrderID       string               `json:"order_id"`
	OrderType     issuance.OrderType   `json:"order_type" enum:"card_issue,card_import,card_reissue"`
	Status        issuance.OrderStatus `json:"status" enum:"new,processing,completed,failed"`
	IssueStatus   issuance.IssueStatus `json:"issue_status" enum:"data_prep,embossing,activating,issued,imported,data_prep_failed,embossing_failed"`
	IsIssued      bool                 `json:"is_issued" doc:"whether the card is issued (active or imported)"`
	CardID        string               `json:"card_id,omitempty"`
	BatchID       string               `json:"batch_id,omitempty"`
	ReferenceID   string               `json:"reference_id,omitempty"`
	LastError     string               `json:"last_error,omitempty"`
	LastErrorSlug string               `json:"last_error_slug,omitempty"`
	CreatedAt     time.Time            `json:"created_at"`
	UpdatedAt     time.Time            `json:"updated_at"`
	CompletedAt   *time.Time           `json:"completed_at,omitempty"`
	FailedAt      *time.Time           `json:"failed_at,omitempty"`
}

func viewOrder(o issuance.Order) orderView {
	return orderView{OrderID: o.ID, OrderType: o.Type, Status: o.Status, IssueStatus: o.IssueStatus,
		IsIssued: o.Status == issuance.OrderCompleted, CardID: o.CardID, BatchID: o.BatchID, ReferenceID: o.ReferenceID,
		LastError: o.LastError, LastErrorSlug: o.LastErrorSlug, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt,
		CompletedAt: o.CompletedAt, FailedAt: o.FailedAt}
}

type orderList page[orderView]

// orderFilterOf reads the order list's filters.
func orderFilterOf(c *fiber.Ctx, p issuance.PageRequest) (issuance.OrderFilter, error) {
	return issuance.OrderFilter{PageRequest: p, Status: issuance.OrderStatus(c.Query("status")),
		CardID: c.Query("card_id"), BatchID: c.Query("batch_id")}, nil
}

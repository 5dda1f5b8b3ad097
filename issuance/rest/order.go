package rest

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/cardhost/cardhost/issuance"
)

// Card orders (PintoPay's orders): one per card create, with an
// issue_status sub-status, so issuers can follow asynchronous issuance.

func init() { extraRoutes = append(extraRoutes, (*Server).registerOrderRoutes) }

type orderView struct {
	OrderID       string               `json:"order_id"`
	OrderType     issuance.OrderType   `json:"order_type" enum:"card_issue,card_import"`
	Status        issuance.OrderStatus `json:"status" enum:"new,processing,completed,failed"`
	IssueStatus   issuance.IssueStatus `json:"issue_status" enum:"data_prep,embossing,issued,imported,data_prep_failed,embossing_failed"`
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

func viewOrder(o *issuance.Order) orderView {
	return orderView{OrderID: o.ID, OrderType: o.Type, Status: o.Status, IssueStatus: o.IssueStatus,
		IsIssued: o.Status == issuance.OrderCompleted, CardID: o.CardID, BatchID: o.BatchID, ReferenceID: o.ReferenceID,
		LastError: o.LastError, LastErrorSlug: o.LastErrorSlug, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt,
		CompletedAt: o.CompletedAt, FailedAt: o.FailedAt}
}

type orderList struct {
	Data    []orderView `json:"data"`
	HasMore bool        `json:"has_more"`
}

func (s *Server) registerOrderRoutes() {
	svc := func() *issuance.Service { return s.deps.Service }
	s.handle(fiber.MethodGet, "/v1/orders", operation{ID: "listOrders", Summary: "List card orders, newest first", Tag: "orders", Response: orderList{},
		Query: append(append([]queryParam{}, pageQueryParams...),
			queryParam{Name: "status", Type: "string", Doc: "new, processing, completed or failed"},
			queryParam{Name: "card_id", Type: "string", Doc: "the orders of this card"},
			queryParam{Name: "batch_id", Type: "string", Doc: "the orders of this batch"})},
		func(c *fiber.Ctx) error {
			p, err := pageOf(c)
			if err != nil {
				return err
			}
			orders, more, err := svc().Orders(c.UserContext(), tenantOf(c).ID, issuance.OrderFilter{PageRequest: p,
				Status: issuance.OrderStatus(c.Query("status")), CardID: c.Query("card_id"), BatchID: c.Query("batch_id")})
			if err != nil {
				return err
			}
			out := orderList{Data: make([]orderView, len(orders)), HasMore: more}
			for i := range orders {
				out.Data[i] = viewOrder(&orders[i])
			}
			return c.JSON(out)
		})
	s.handle(fiber.MethodGet, "/v1/orders/:id", operation{ID: "getOrder", Summary: "Get a card order", Tag: "orders", Response: orderView{}},
		func(c *fiber.Ctx) error {
			o, err := svc().Order(c.UserContext(), tenantOf(c).ID, c.Params("id"))
			if err != nil {
				return err
			}
			return c.JSON(viewOrder(&o))
		})
}

package rest

import (
	"bytes"
	"encoding/json"

	"github.com/gofiber/fiber/v2"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/catalog"
)

// The catalog API (QPay's issuing flow, steps 3 to 6, plus cardholders):
// data prep templates, embossers, card layouts, card products and
// cardholders. Every object belongs to the calling tenant; another tenant's
// id answers 404.

func init() { extraRoutes = append(extraRoutes, (*Server).registerCatalogRoutes) }

type templateRequest struct {
	Name        string           `json:"name" required:"true"`
	Description string           `json:"description,omitempty"`
	Network     issuance.Network `json:"network" required:"true" enum:"VISA,MASTERCARD"`
	IIN         string           `json:"iin" required:"true" doc:"6 to 8 digits in the network's range"`
	PANLength   int              `json:"pan_length,omitempty" doc:"13 to 19 (default 16)"`
	CVN         int              `json:"cvn" required:"true" doc:"Visa 10, 18, 22; Mastercard 16, 17, 20, 21"`
	AID         string           `json:"aid" required:"true" doc:"hex, 10 to 32 characters, under the network's RID (A000000003 Visa, A000000004 Mastercard)"`
	ServiceCode string           `json:"service_code" required:"true" doc:"3 digits, e.g. 201"`
	IMKACRef    string           `json:"imk_ac_key_reference" required:"true" doc:"an IMK-AC of the tenant (or shared)"`
	IMKSMIRef   string           `json:"imk_smi_key_reference,omitempty" doc:"an IMK-SMI"`
	IMKSMCRef   string           `json:"imk_smc_key_reference,omitempty" doc:"an IMK-SMC"`
	CVKRef      string           `json:"cvk_key_reference" required:"true" doc:"a CVK"`
	PVKRef      string           `json:"pvk_key_reference,omitempty" doc:"a PVK (required with a PIN method)"`
	PINMethod   string           `json:"pin_method,omitempty" enum:"PVV,IBM3624" doc:"default PVV when a PVK is given"`
	PVKI        string           `json:"pvki,omitempty" doc:"PVV key index, 1 to 6 (default 1)"`
}

type templateList struct {
	Data    []issuance.Template `json:"data"`
	HasMore bool                `json:"has_more"`
}

type embosserRequest struct {
	Name        string `json:"name" required:"true"`
	Type        string `json:"type,omitempty" enum:"LOOPBACK" doc:"default LOOPBACK"`
	KEKRef      string `json:"transport_key_reference" required:"true" doc:"an AES KEK of the tenant (or shared) the personalisation records are encrypted under"`
	ManualIssue bool   `json:"manual_issue,omitempty" doc:"leave cards PROVISIONED until the simulator's issue or fail call"`
}

type embosserList struct {
	Data    []issuance.Embosser `json:"data"`
	HasMore bool                `json:"has_more"`
}

type layoutRequest struct {
	Layout      string `json:"layout" required:"true" doc:"the layout identifier agreed with the embosser, e.g. standard-blue-v1"`
	Name        string `json:"name,omitempty" doc:"default: the layout identifier"`
	Description string `json:"description,omitempty"`
}

type layoutList struct {
	Data    []issuance.Layout `json:"data"`
	HasMore bool              `json:"has_more"`
}

type productRequest struct {
	Name                     string                     `json:"name" required:"true"`
	Description              string                     `json:"description,omitempty"`
	LayoutID                 string                     `json:"layout_id" required:"true"`
	TemplateID               string                     `json:"data_prep_template_id" required:"true"`
	DefaultEmbosserID        string                     `json:"default_embosser_id" required:"true"`
	Currency                 string                     `json:"currency" required:"true" doc:"ISO 4217 alpha code"`
	CardType                 issuance.CardType          `json:"card_type" required:"true" enum:"VIRTUAL,PLASTIC,TEMPORARY"`
	Status                   issuance.ProductStatus     `json:"status,omitempty" enum:"ACTIVE,INACTIVE" doc:"default ACTIVE"`
	ValidityMonths           int                        `json:"validity_months,omitempty" doc:"1 to 120 (default 36)"`
	CardLimit                *int64                     `json:"card_limit,omitempty" doc:"default card limit, minor units"`
	SpendingControls         []issuance.SpendingControl `json:"spending_controls,omitempty" doc:"default spending controls of new cards"`
	RiskControls             *issuance.RiskControls     `json:"risk_controls,omitempty" doc:"default risk controls of new cards"`
	RequiredCardholderFields []string                   `json:"required_cardholder_fields,omitempty" enum:"email,phone,birth_date,address,nationality"`
	RequireKYC               bool                       `json:"require_kyc,omitempty" doc:"refuse cards for cardholders whose KYC is not VERIFIED"`
}

type productPatch struct {
	Name                     *string                     `json:"name,omitempty"`
	Description              *string                     `json:"description,omitempty"`
	LayoutID                 *string                     `json:"layout_id,omitempty"`
	DefaultEmbosserID        *string                     `json:"default_embosser_id,omitempty"`
	CardLimit                *int64                      `json:"card_limit,omitempty" doc:"null removes the default limit"`
	SpendingControls         *[]issuance.SpendingControl `json:"spending_controls,omitempty" doc:"replaces the list ([] clears it)"`
	RiskControls             *issuance.RiskControls      `json:"risk_controls,omitempty" doc:"replaces the risk controls"`
	ValidityMonths           *int                        `json:"validity_months,omitempty"`
	Status                   *issuance.ProductStatus     `json:"status,omitempty" enum:"ACTIVE,INACTIVE"`
	RequiredCardholderFields *[]string                   `json:"required_cardholder_fields,omitempty" enum:"email,phone,birth_date,address,nationality"`
	RequireKYC               *bool                       `json:"require_kyc,omitempty"`
}

type productList struct {
	Data    []issuance.Product `json:"data"`
	HasMore bool               `json:"has_more"`
}

type cardholderRequest struct {
	FirstName   string            `json:"first_name" required:"true"`
	LastName    string            `json:"last_name" required:"true"`
	Email       string            `json:"email,omitempty"`
	Phone       string            `json:"phone,omitempty" doc:"E.164, e.g. +5511912345678"`
	BirthDate   string            `json:"birth_date,omitempty" format:"date" doc:"YYYY-MM-DD; the cardholder must be 18 or older"`
	Nationality string            `json:"nationality,omitempty" doc:"ISO 3166-1 alpha-2"`
	Address     *issuance.Address `json:"address,omitempty"`
}

type cardholderPatch struct {
	FirstName   *string           `json:"first_name,omitempty"`
	LastName    *string           `json:"last_name,omitempty"`
	Email       *string           `json:"email,omitempty" doc:"empty string removes it"`
	Phone       *string           `json:"phone,omitempty" doc:"empty string removes it"`
	BirthDate   *string           `json:"birth_date,omitempty" doc:"empty string removes it"`
	Nationality *string           `json:"nationality,omitempty" doc:"empty string removes it"`
	Address     *issuance.Address `json:"address,omitempty" doc:"replaces the address; null removes it"`
}

type cardholderList struct {
	Data    []issuance.Cardholder `json:"data"`
	HasMore bool                  `json:"has_more"`
}

// explicitNull reports whether the JSON object body sets field to null
// (which a pointer field cannot tell from an absent one).
func explicitNull(body []byte, field string) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return false
	}
	v, ok := m[field]
	return ok && bytes.Equal(bytes.TrimSpace(v), []byte("null"))
}

func catalogData[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (s *Server) registerCatalogRoutes() {
	svc := func() *catalog.Service { return s.deps.Catalog }

	// Data prep templates.
	s.handle(fiber.MethodPost, "/v1/data-prep-templates", operation{ID: "createDataPrepTemplate", Summary: "Create a data prep template (IIN, network, CVN, AID, key references)", Tag: "catalog",
		Idempotent: true, Request: templateRequest{}, Response: issuance.Template{}},
		func(c *fiber.Ctx) error {
			var r templateRequest
			if err := decodeJSON(c, &r); err != nil {
				return err
			}
			t, err := svc().CreateTemplate(c.UserContext(), tenantOf(c).ID, issuance.Template{
				Name: r.Name, Description: r.Description, Network: r.Network, IIN: r.IIN, PANLength: r.PANLength, CVN: r.CVN,
				AID: r.AID, ServiceCode: r.ServiceCode, IMKACRef: r.IMKACRef, IMKSMIRef: r.IMKSMIRef, IMKSMCRef: r.IMKSMCRef,
				CVKRef: r.CVKRef, PVKRef: r.PVKRef, PINMethod: r.PINMethod, PVKI: r.PVKI,
			})
			if err != nil {
				return err
			}
			return c.Status(fiber.StatusCreated).JSON(t)
		})
	s.handle(fiber.MethodGet, "/v1/data-prep-templates", operation{ID: "listDataPrepTemplates", Summary: "List the tenant's data prep templates", Tag: "catalog",
		Response: templateList{}, Query: pageQueryParams},
		func(c *fiber.Ctx) error {
			p, err := pageOf(c)
			if err != nil {
				return err
			}
			ts, more, err := svc().Templates(c.UserContext(), tenantOf(c).ID, p)
			if err != nil {
				return err
			}
			return c.JSON(templateList{Data: catalogData(ts), HasMore: more})
		})
	s.handle(fiber.MethodGet, "/v1/data-prep-templates/:id", operation{ID: "getDataPrepTemplate", Summary: "Get a data prep template", Tag: "catalog", Response: issuance.Template{}},
		func(c *fiber.Ctx) error {
			t, err := svc().Template(c.UserContext(), tenantOf(c).ID, c.Params("id"))
			if err != nil {
				return err
			}
			return c.JSON(t)
		})

	// Embossers.
	s.handle(fiber.MethodPost, "/v1/embossers", operation{ID: "createEmbosser", Summary: "Create an embosser (LOOPBACK)", Tag: "catalog",
		Idempotent: true, Request: embosserRequest{}, Response: issuance.Embosser{}},
		func(c *fiber.Ctx) error {
			var r embosserRequest
			if err := decodeJSON(c, &r); err != nil {
				return err
			}
			e, err := svc().CreateEmbosser(c.UserContext(), tenantOf(c).ID, issuance.Embosser{Name: r.Name, Type: r.Type, KEKRef: r.KEKRef, ManualIssue: r.ManualIssue})
			if err != nil {
				return err
			}
			return c.Status(fiber.StatusCreated).JSON(e)
		})
	s.handle(fiber.MethodGet, "/v1/embossers", operation{ID: "listEmbossers", Summary: "List the tenant's embossers", Tag: "catalog", Response: embosserList{}, Query: pageQueryParams},
		func(c *fiber.Ctx) error {
			p, err := pageOf(c)
			if err != nil {
				return err
			}
			es, more, err := svc().Embossers(c.UserContext(), tenantOf(c).ID, p)
			if err != nil {
				return err
			}
			return c.JSON(embosserList{Data: catalogData(es), HasMore: more})
		})
	s.handle(fiber.MethodGet, "/v1/embossers/:id", operation{ID: "getEmbosser", Summary: "Get an embosser", Tag: "catalog", Response: issuance.Embosser{}},
		func(c *fiber.Ctx) error {
			e, err := svc().Embosser(c.UserContext(), tenantOf(c).ID, c.Params("id"))
			if err != nil {
				return err
			}
			return c.JSON(e)
		})

	// Card layouts.
	s.handle(fiber.MethodPost, "/v1/card-layouts", operation{ID: "createCardLayout", Summary: "Create a card layout", Tag: "catalog",
		Idempotent: true, Request: layoutRequest{}, Response: issuance.Layout{}},
		func(c *fiber.Ctx) error {
			var r layoutRequest
			if err := decodeJSON(c, &r); err != nil {
				return err
			}
			l, err := svc().CreateLayout(c.UserContext(), tenantOf(c).ID, issuance.Layout{Layout: r.Layout, Name: r.Name, Description: r.Description})
			if err != nil {
				return err
			}
			return c.Status(fiber.StatusCreated).JSON(l)
		})
	s.handle(fiber.MethodGet, "/v1/card-layouts", operation{ID: "listCardLayouts", Summary: "List the tenant's card layouts", Tag: "catalog", Response: layoutList{}, Query: pageQueryParams},
		func(c *fiber.Ctx) error {
			p, err := pageOf(c)
			if err != nil {
				return err
			}
			ls, more, err := svc().Layouts(c.UserContext(), tenantOf(c).ID, p)
			if err != nil {
				return err
			}
			return c.JSON(layoutList{Data: catalogData(ls), HasMore: more})
		})
	s.handle(fiber.MethodGet, "/v1/card-layouts/:id", operation{ID: "getCardLayout", Summary: "Get a card layout", Tag: "catalog", Response: issuance.Layout{}},
		func(c *fiber.Ctx) error {
			l, err := svc().Layout(c.UserContext(), tenantOf(c).ID, c.Params("id"))
			if err != nil {
				return err
			}
			return c.JSON(l)
		})

	// Card products.
	s.handle(fiber.MethodPost, "/v1/card-products", operation{ID: "createCardProduct", Summary: "Create a card product from a layout, a data prep template and an embosser", Tag: "catalog",
		Idempotent: true, Request: productRequest{}, Response: issuance.Product{}},
		func(c *fiber.Ctx) error {
			var r productRequest
			if err := decodeJSON(c, &r); err != nil {
				return err
			}
			p := issuance.Product{
				Name: r.Name, Description: r.Description, LayoutID: r.LayoutID, TemplateID: r.TemplateID, DefaultEmbosserID: r.DefaultEmbosserID,
				Currency: r.Currency, CardType: r.CardType, Status: r.Status, ValidityMonths: r.ValidityMonths, CardLimit: r.CardLimit,
				SpendingControls: r.SpendingControls, RequiredCardholderFields: r.RequiredCardholderFields, RequireKYC: r.RequireKYC,
			}
			if r.RiskControls != nil {
				p.RiskControls = *r.RiskControls
			}
			p, err := svc().CreateProduct(c.UserContext(), tenantOf(c).ID, p)
			if err != nil {
				return err
			}
			return c.Status(fiber.StatusCreated).JSON(p)
		})
	s.handle(fiber.MethodGet, "/v1/card-products", operation{ID: "listCardProducts", Summary: "List the tenant's card products", Tag: "catalog", Response: productList{},
		Query: append([]queryParam{{Name: "status", Type: "string", Doc: "ACTIVE or INACTIVE"}}, pageQueryParams...)},
		func(c *fiber.Ctx) error {
			p, err := pageOf(c)
			if err != nil {
				return err
			}
			ps, more, err := svc().Products(c.UserContext(), tenantOf(c).ID, issuance.ProductFilter{PageRequest: p, Status: issuance.ProductStatus(c.Query("status"))})
			if err != nil {
				return err
			}
			return c.JSON(productList{Data: catalogData(ps), HasMore: more})
		})
	s.handle(fiber.MethodGet, "/v1/card-products/:id", operation{ID: "getCardProduct", Summary: "Get a card product", Tag: "catalog", Response: issuance.Product{}},
		func(c *fiber.Ctx) error {
			p, err := svc().Product(c.UserContext(), tenantOf(c).ID, c.Params("id"))
			if err != nil {
				return err
			}
			return c.JSON(p)
		})
	s.handle(fiber.MethodPatch, "/v1/card-products/:id", operation{ID: "updateCardProduct", Summary: "Change a card product's defaults (they apply to cards created afterwards)", Tag: "catalog",
		Request: productPatch{}, Response: issuance.Product{}},
		func(c *fiber.Ctx) error {
			var r productPatch
			if err := decodeJSON(c, &r); err != nil {
				return err
			}
			p, err := svc().UpdateProduct(c.UserContext(), tenantOf(c).ID, c.Params("id"), catalog.ProductUpdate{
				Name: r.Name, Description: r.Description, LayoutID: r.LayoutID, DefaultEmbosserID: r.DefaultEmbosserID,
				CardLimit: r.CardLimit, RemoveCardLimit: explicitNull(c.Body(), "card_limit"),
				SpendingControls: r.SpendingControls, RiskControls: r.RiskControls, ValidityMonths: r.ValidityMonths, Status: r.Status,
				RequiredCardholderFields: r.RequiredCardholderFields, RequireKYC: r.RequireKYC,
			})
			if err != nil {
				return err
			}
			return c.JSON(p)
		})

	// Cardholders.
	s.handle(fiber.MethodPost, "/v1/cardholders", operation{ID: "createCardholder", Summary: "Create a cardholder (KYC starts PENDING)", Tag: "cardholders",
		Idempotent: true, Request: cardholderRequest{}, Response: issuance.Cardholder{}},
		func(c *fiber.Ctx) error {
			var r cardholderRequest
			if err := decodeJSON(c, &r); err != nil {
				return err
			}
			ch, err := svc().CreateCardholder(c.UserContext(), tenantOf(c).ID, issuance.Cardholder{
				FirstName: r.FirstName, LastName: r.LastName, Email: r.Email, Phone: r.Phone, BirthDate: r.BirthDate,
				Nationality: r.Nationality, Address: r.Address,
			})
			if err != nil {
				return err
			}
			return c.Status(fiber.StatusCreated).JSON(ch)
		})
	s.handle(fiber.MethodGet, "/v1/cardholders", operation{ID: "listCardholders", Summary: "List the tenant's cardholders", Tag: "cardholders", Response: cardholderList{},
		Query: append([]queryParam{{Name: "kyc_status", Type: "string", Doc: "PENDING, VERIFIED or REJECTED"}}, pageQueryParams...)},
		func(c *fiber.Ctx) error {
			p, err := pageOf(c)
			if err != nil {
				return err
			}
			cs, more, err := svc().Cardholders(c.UserContext(), tenantOf(c).ID, issuance.CardholderFilter{PageRequest: p, KYCStatus: issuance.KYCStatus(c.Query("kyc_status"))})
			if err != nil {
				return err
			}
			return c.JSON(cardholderList{Data: catalogData(cs), HasMore: more})
		})
	s.handle(fiber.MethodGet, "/v1/cardholders/:id", operation{ID: "getCardholder", Summary: "Get a cardholder", Tag: "cardholders", Response: issuance.Cardholder{}},
		func(c *fiber.Ctx) error {
			ch, err := svc().Cardholder(c.UserContext(), tenantOf(c).ID, c.Params("id"))
			if err != nil {
				return err
			}
			return c.JSON(ch)
		})
	s.handle(fiber.MethodPatch, "/v1/cardholders/:id", operation{ID: "updateCardholder", Summary: "Change a cardholder (identity changes send a VERIFIED cardholder back to PENDING)", Tag: "cardholders",
		Request: cardholderPatch{}, Response: issuance.Cardholder{}},
		func(c *fiber.Ctx) error {
			var r cardholderPatch
			if err := decodeJSON(c, &r); err != nil {
				return err
			}
			ch, err := svc().UpdateCardholder(c.UserContext(), tenantOf(c).ID, c.Params("id"), catalog.CardholderUpdate{
				FirstName: r.FirstName, LastName: r.LastName, Email: r.Email, Phone: r.Phone, BirthDate: r.BirthDate,
				Nationality: r.Nationality, Address: r.Address, RemoveAddress: explicitNull(c.Body(), "address"),
			})
			if err != nil {
				return err
			}
			return c.JSON(ch)
		})
	for _, sim := range []struct {
		action, id, summary string
		status              issuance.KYCStatus
	}{
		{"verify", "simulateCardholderVerified", "Simulate a successful KYC check (PENDING or REJECTED -> VERIFIED)", issuance.KYCVerified},
		{"reject", "simulateCardholderRejected", "Simulate a failed KYC check (-> REJECTED)", issuance.KYCRejected},
	} {
		s.handle(fiber.MethodPost, "/v1/simulator/cardholders/:id/"+sim.action, operation{ID: sim.id, Summary: sim.summary, Tag: "simulator",
			Idempotent: true, SandboxOnly: true, Status: fiber.StatusOK, Response: issuance.Cardholder{}},
			func(c *fiber.Ctx) error {
				ch, err := svc().SetCardholderKYC(c.UserContext(), tenantOf(c).ID, c.Params("id"), sim.status)
				if err != nil {
					return err
				}
				return c.JSON(ch)
			})
	}
}

package rest

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/cardhost/cardhost/issuance"
)

// Cursor pagination (DESIGN.md "Lists"): ?limit=1..100 (default 20) and
// ?starting_after=<id of the last object of the previous page>; answers
// {"data": [...], "has_more": bool}, newest first.

// pageQueryParams documents the pagination parameters of every list.
var pageQueryParams = []queryParam{
	{Name: "limit", Type: "integer", Doc: "page size, 1 to 100 (default 20)"},
	{Name: "starting_after", Type: "string", Doc: "id of the last object of the previous page; the page holds the objects created before it"},
}

// pageOf reads the pagination parameters. The service checks the cursor's
// id syntax; a limit that is not an integer is rejected here.
func pageOf(c *fiber.Ctx) (issuance.PageRequest, error) {
	p := issuance.PageRequest{StartingAfter: c.Query("starting_after")}
	if s := c.Query("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return p, &issuance.Error{Slug: issuance.SlugValidationFailed, Message: "the request has invalid fields",
				Fields: []issuance.FieldError{{Field: "limit", Code: "out_of_range", Message: "an integer between 1 and " + strconv.Itoa(issuance.MaxPageLimit)}}}
		}
		p.Limit = n
	}
	return p, nil
}

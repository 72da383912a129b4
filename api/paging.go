package api

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/aegis-sec/aegis/core"
)

// Paged is the envelope of every list response: one page of items, how many match in
// all, and the limit and offset that were applied (after bounding), so a client can
// compute the next page without guessing what the server did with its request.
type Paged[T any] struct {
	Items  []T `json:"items"`
	Total  int `json:"total"`
	Limit  int `json:"limit"`
	Offset int `json:"offset"`
}

// pageParams reads the limit and offset query parameters. Absent values get the
// defaults of core.Page (50, 0); a limit above the maximum (500) is lowered to it;
// anything that is not a non-negative integer is a 400 naming the parameter.
func pageParams(c echo.Context) (core.Page, error) {
	var p core.Page
	for _, q := range []struct {
		name string
		dst  *int
	}{{"limit", &p.Limit}, {"offset", &p.Offset}} {
		v := c.QueryParam(q.name)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return core.Page{}, core.FieldError(q.name, "must be a non-negative integer, not %q", v)
		}
		*q.dst = n
	}
	return p.Normalize(), nil
}

// writePage answers 200 with the envelope. p is the page the store applied (pass the
// one pageParams returned); a nil items slice is written as [] so clients never see null.
func writePage[T any](c echo.Context, items []T, total int, p core.Page) error {
	if items == nil {
		items = []T{}
	}
	p = p.Normalize()
	return c.JSON(http.StatusOK, Paged[T]{Items: items, Total: total, Limit: p.Limit, Offset: p.Offset})
}

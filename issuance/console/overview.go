package console

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/cardhost/cardhost/host"
	"github.com/cardhost/cardhost/issuance/ledger"
)

// overviewWindow is the period the overview summarises.
const overviewWindow = time.Hour

// chart is a bar chart drawn as inline SVG by the template (no script):
// one bar per minute, or one per reason.
type chart struct {
	Title, Unit string
	Width       int
	Height      int
	Max         string // the label of the top of the scale
	Bars        []bar
}

// bar is one bar, in SVG user units; Label is its tooltip (<title>).
type bar struct {
	X, Y, W, H float64
	Label      string
	Class      string
}

// overviewPage is the data of the overview.
type overviewPage struct {
	Since, Until  time.Time
	Requests      int
	Approved      int
	Rate          float64
	PerSecond     string // over the whole hour
	LastPerSecond string // over the last full minute
	Charts        []chart
	Declines      []declineRow
	// Balances are the tenant's program balances, one per currency.
	Balances []ledger.Balance
}

type declineRow struct {
	Reason host.Reason
	Count  int
	Width  float64 // percent of the largest
}

func (co *Console) overview(c *fiber.Ctx) error {
	s := sessionOf(c)
	now := co.deps.Now().UTC()
	since := now.Truncate(time.Minute).Add(-overviewWindow + time.Minute)
	act, err := co.deps.Records.Activity(c.UserContext(), s.Tenant.ID, since)
	if err != nil {
		return co.fail(c, err)
	}
	p := buildOverview(act, since, now)
	if co.deps.Money != nil {
		if p.Balances, err = co.deps.Money.Balances(c.UserContext(), s.Tenant.ID); err != nil {
			return co.fail(c, err)
		}
	}
	return co.render(c, fiber.StatusOK, "overview", p)
}

// buildOverview lays the hour out minute by minute (minutes without
// requests are zero) and draws the charts.
func buildOverview(act host.Activity, since, now time.Time) overviewPage {
	n := int(overviewWindow / time.Minute)
	minutes := make([]host.ActivityMinute, n)
	for i := range minutes {
		minutes[i].Minute = since.Add(time.Duration(i) * time.Minute)
	}
	for _, m := range act.Minutes {
		if i := int(m.Minute.Sub(since) / time.Minute); i >= 0 && i < n {
			minutes[i] = m
		}
	}
	p := overviewPage{Since: since, Until: now}
	p.Requests, p.Approved, p.Rate = act.Totals()
	p.PerSecond = perSecond(p.Requests, overviewWindow)
	if n >= 2 {
		p.LastPerSecond = perSecond(minutes[n-2].Requests, time.Minute)
	}
	label := func(m host.ActivityMinute) string { return m.Minute.Format("15:04") }
	p.Charts = []chart{
		minuteChart("Authorizations per minute", "requests", minutes, func(m host.ActivityMinute) float64 { return float64(m.Requests) },
			func(m host.ActivityMinute) string { return label(m) + ": " + strconv.Itoa(m.Requests) + " requests" }, "", 0),
		minuteChart("Approval rate", "%", minutes, func(m host.ActivityMinute) float64 {
			if m.Requests == 0 {
				return 0
			}
			return 100 * float64(m.Approved) / float64(m.Requests)
		}, func(m host.ActivityMinute) string {
			return label(m) + ": " + strconv.Itoa(m.Approved) + " of " + strconv.Itoa(m.Requests) + " approved"
		}, "ok", 100),
		minuteChart("Decision time, p95 (ms)", "ms", minutes, func(m host.ActivityMinute) float64 { return float64(m.P95.Microseconds()) / 1000 },
			func(m host.ActivityMinute) string {
				return label(m) + ": p50 " + msOf(m.P50) + " ms, p95 " + msOf(m.P95) + " ms"
			}, "slow", 0),
	}
	top := 0
	for _, d := range act.Declines {
		top = max(top, d.Count)
	}
	for _, d := range act.Declines {
		p.Declines = append(p.Declines, declineRow{Reason: d.Reason, Count: d.Count, Width: 100 * float64(d.Count) / float64(top)})
	}
	return p
}

// minuteChart draws one bar per minute; scale 0 means the largest value.
func minuteChart(title, unit string, minutes []host.ActivityMinute, value func(host.ActivityMinute) float64, label func(host.ActivityMinute) string, class string, scale float64) chart {
	const w, h = 600, 120
	ch := chart{Title: title, Unit: unit, Width: w, Height: h}
	top := scale
	for _, m := range minutes {
		top = max(top, value(m))
	}
	if top == 0 {
		top = 1
	}
	ch.Max = strconv.FormatFloat(top, 'f', -1, 64)
	step := float64(w) / float64(len(minutes))
	for i, m := range minutes {
		v := value(m)
		bh := float64(h) * v / top
		ch.Bars = append(ch.Bars, bar{X: float64(i) * step, Y: float64(h) - bh, W: step * 0.8, H: bh, Label: label(m), Class: class})
	}
	return ch
}

func perSecond(n int, d time.Duration) string {
	return strconv.FormatFloat(float64(n)/d.Seconds(), 'f', 3, 64)
}

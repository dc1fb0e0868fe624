package gateway

import (
	"strconv"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/infergate/infergate/internal/promtext"
	"github.com/valyala/fasthttp"
)

// routeStats are one route's request metrics. The success counter is made up
// front so that the common path does no metric lookup; error statuses are
// looked up by name, which costs an allocation only on the error path.
type routeStats struct {
	set      *metrics.Set
	route    string
	ok       *metrics.Counter
	duration *metrics.PrometheusHistogram
}

func newRouteStats(set *metrics.Set, route string) *routeStats {
	return &routeStats{
		set:      set,
		route:    route,
		ok:       set.GetOrCreateCounter(requestsMetric(route, fasthttp.StatusOK)),
		duration: set.GetOrCreatePrometheusHistogramExt(`infergate_http_request_duration_seconds{route="`+promtext.EscapeLabel(route)+`"}`, promtext.LatencyBuckets),
	}
}

func requestsMetric(route string, status int) string {
	return `infergate_http_requests_total{route="` + promtext.EscapeLabel(route) + `",code="` + strconv.Itoa(status) + `"}`
}

// countOK counts an answered request that took took.
func (s *routeStats) countOK(took time.Duration) {
	s.ok.Inc()
	s.duration.Update(took.Seconds())
}

func (s *routeStats) countError(ctx *fasthttp.RequestCtx, start time.Time) {
	s.set.GetOrCreateCounter(requestsMetric(s.route, ctx.Response.StatusCode())).Inc()
	s.duration.Update(time.Since(start).Seconds())
}

// countUnrouted counts a request that failed before a route was known,
// under route="".
func (g *Gateway) countUnrouted(ctx *fasthttp.RequestCtx) {
	g.metrics.GetOrCreateCounter(requestsMetric("", ctx.Response.StatusCode())).Inc()
}

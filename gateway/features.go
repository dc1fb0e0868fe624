package gateway

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"

	"github.com/infergate/infergate/featurefetch"
	"github.com/infergate/infergate/internal/jsonenc"
	"github.com/valyala/fasthttp"
)

// RouteFeaturesConfig is a route's online features (routes[].features): the
// feature view whose values fill what a request lacks, looked up by the
// view's join key among the request's features.
type RouteFeaturesConfig struct {
	// View names a view of the features block. Default none: no lookup.
	View string `yaml:"view"`
	// ReportDefaulted adds "defaulted_features" to a /v1 answer: the
	// features the store could not give. Default false.
	ReportDefaulted bool `yaml:"report_defaulted"`
}

// routeFeatures is a route's feature view at run time.
type routeFeatures struct {
	vf     *featurefetch.ViewFetcher
	report bool
	names  []string // the view's features, indexed by Result.Defaulted's bits
}

// newFeatures starts the feature fetcher when a route names a view.
func newFeatures(cfg *Config) (*featurefetch.Fetcher, error) {
	var errs []error
	used := false
	for _, route := range slices.Sorted(maps.Keys(cfg.RouteFeatures)) {
		rf := cfg.RouteFeatures[route]
		if rf.View == "" {
			continue
		}
		used = true
		if !slices.ContainsFunc(cfg.Features.Views, func(v featurefetch.ViewConfig) bool { return v.Name == rf.View }) {
			errs = append(errs, fmt.Errorf("routes[%s].features.view: no view %q in features.views", route, rf.View))
		}
	}
	if err := errors.Join(errs...); err != nil || !used {
		return nil, err
	}
	return featurefetch.New(cfg.Features, slog.Default())
}

// routeFeaturesOf returns the run-time features of route, or nil.
func (g *Gateway) routeFeaturesOf(route string) *routeFeatures {
	rf, ok := g.cfg.RouteFeatures[route]
	if !ok || rf.View == "" || g.features == nil {
		return nil
	}
	vf := g.features.View(rf.View)
	return &routeFeatures{vf: vf, report: rf.ReportDefaulted, names: vf.Features()}
}

// appendDefaulted appends ,"defaulted_features":[...] when the route reports
// them and some were.
func (rf *routeFeatures) appendDefaulted(b []byte, defaulted uint64) []byte {
	if rf == nil || !rf.report || defaulted == 0 {
		return b
	}
	b = append(b, `,"defaulted_features":[`...)
	first := true
	for i, name := range rf.names {
		if defaulted&(1<<uint(i%64)) == 0 {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = jsonenc.AppendString(b, name)
	}
	return append(b, ']')
}

// Error codes of the feature store.
const codeFeatureStoreUnavailable = "feature_store_unavailable"

// featureError maps a failed lookup to its answer: 503 when the store could
// not be read, 400 naming the feature when its value is missing or stale.
func featureError(err error) (apiError, bool) {
	var fe *featurefetch.FeatureError
	if !errors.As(err, &fe) {
		return apiError{}, false
	}
	if errors.Is(err, featurefetch.ErrStoreUnavailable) {
		return apiError{fasthttp.StatusServiceUnavailable, codeFeatureStoreUnavailable, "", fe.Msg}, true
	}
	return apiError{fasthttp.StatusBadRequest, codeMissingFeature, "features." + fe.Feature, fe.Msg}, true
}

func (g *Gateway) closeFeatures() {
	if g.features != nil {
		g.features.Close()
	}
}

package target

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"
)

// signatureFetchTimeout bounds Signature's GET of the model list.
const signatureFetchTimeout = 10 * time.Second

// optionalProbability is the chance that a generated body includes an
// optional feature; required ones are always included.
const optionalProbability = 0.8

// Signature fetches GET {adminURL}/v1/models from a running gateway's admin
// port and generates n request bodies for route from its signature; see
// SignatureFromJSON. An empty route picks the only route served, if there is
// exactly one.
func Signature(adminURL, route string, n int, seed uint64) (BodySource, error) {
	url := strings.TrimSuffix(adminURL, "/") + "/v1/models"
	client := &http.Client{Timeout: signatureFetchTimeout}
	resp, err := client.Get(url)
	if err != nil {
		return nil, fmt.Errorf("cannot fetch the model list: %w; is the gateway's admin port at %s?", err, adminURL)
	}
	defer func() { _ = resp.Body.Close() }() // a read error, if any, is the one to report
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("cannot read the model list from %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("cannot fetch the model list: GET %s answered %s: %.200s", url, resp.Status, data)
	}
	src, err := SignatureFromJSON(data, route, n, seed)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", url, err)
	}
	return src, nil
}

// modelList is the part of GET /v1/models that generation needs.
type modelList struct {
	Models []struct {
		Route    string         `json:"route"`
		Features []modelFeature `json:"features"`
	} `json:"models"`
}

type modelFeature struct {
	Name       string   `json:"name"`
	Type       string   `json:"type"` // "numeric" or "categorical"
	Required   bool     `json:"required"`
	Mean       float64  `json:"mean"`
	Std        float64  `json:"std"`
	Vocabulary []string `json:"vocabulary"`
}

// SignatureFromJSON generates n request bodies for route from data, the
// JSON of a gateway's GET /v1/models, as Signature does over HTTP. Bodies
// are {"model_id": route, "features": {...}} and Body(seq) cycles through
// them. The same data, n and seed always give the same bodies.
//
// Each body holds every required feature, and each optional one with
// probability 0.8. A numeric feature is drawn from a normal distribution of
// the signature's mean and standard deviation, clipped to three standard
// deviations of the mean and, when the mean is not negative, at zero (counts
// and amounts, the common case in tabular data, are never negative); it is
// written with 2 decimals, since the signature does not say whether the
// training data held whole numbers. A categorical feature is uniform over
// its vocabulary.
func SignatureFromJSON(data []byte, route string, n int, seed uint64) (BodySource, error) {
	if n < 1 {
		return nil, fmt.Errorf("cannot generate %d bodies: n must be at least 1", n)
	}
	var list modelList
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("cannot read the model list: %w", err)
	}
	routes := make([]string, len(list.Models))
	idx := -1
	for i, m := range list.Models {
		routes[i] = m.Route
		if m.Route == route {
			idx = i
		}
	}
	switch {
	case len(routes) == 0:
		return nil, errors.New("the gateway serves no models")
	case route == "" && len(routes) == 1:
		idx, route = 0, routes[0]
	case route == "":
		return nil, fmt.Errorf("name the route to call: the gateway serves %q", routes)
	case idx < 0:
		return nil, fmt.Errorf("unknown route %q: the gateway serves %q", route, routes)
	}
	features := list.Models[idx].Features
	for i, f := range features {
		if err := f.check(); err != nil {
			return nil, fmt.Errorf("route %q: features[%d]: %w", route, i, err)
		}
	}

	rng := rand.New(rand.NewPCG(seed, 0x7369676e6174)) // "signat"
	out := make(bodies, n)
	var p predictionBody
	for i := range out {
		p.start(route)
		for k := range features {
			f := &features[k]
			if !f.Required && rng.Float64() >= optionalProbability {
				continue
			}
			p.key(f.Name)
			if f.Type == "categorical" {
				p.buf = appendJSONString(p.buf, f.category(rng))
			} else {
				p.buf = appendJSONNumber(p.buf, f.number(rng))
			}
		}
		out[i] = p.finish()
	}
	return out, nil
}

func (f *modelFeature) check() error {
	switch {
	case f.Name == "":
		return errors.New("the feature has no name")
	case f.Type != "numeric" && f.Type != "categorical":
		return fmt.Errorf("feature %q: unknown type %q; want numeric or categorical", f.Name, f.Type)
	case math.IsNaN(f.Mean) || math.IsInf(f.Mean, 0) || math.IsNaN(f.Std) || math.IsInf(f.Std, 0):
		return fmt.Errorf("feature %q: mean and std must be finite", f.Name)
	}
	return nil
}

func (f *modelFeature) number(rng *rand.Rand) float64 {
	std := math.Abs(f.Std)
	lo, hi := f.Mean-3*std, f.Mean+3*std
	if f.Mean >= 0 {
		lo = max(lo, 0)
	}
	v := min(max(f.Mean+std*rng.NormFloat64(), lo), hi)
	v = math.Round(v*100) / 100
	if math.IsInf(v, 0) || math.IsNaN(v) {
		v = f.Mean // v*100 overflowed: a mean near the float64 limit
	}
	if v == 0 {
		v = 0 // no "-0"
	}
	return v
}

// unknownCategory is sent for a categorical feature with an empty
// vocabulary: the model's unknown bucket.
const unknownCategory = "unknown"

func (f *modelFeature) category(rng *rand.Rand) string {
	if len(f.Vocabulary) == 0 {
		return unknownCategory
	}
	return f.Vocabulary[rng.IntN(len(f.Vocabulary))]
}

package trainer

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Churn dataset columns, in order.
var churnColumns = []string{
	"customer_id", "tenure_months", "monthly_charges", "total_charges", "contract",
	"support_calls", "payment_method", "paperless_billing", "churned",
}

// ChurnTarget is the label column of GenerateChurn's dataset.
const ChurnTarget = "churned"

// GenerateChurn returns a synthetic customer-churn table of the given size.
// The same rows and seed always give the same table (PCG from math/rand/v2).
//
// Columns: customer_id (entity key "C000123", not a feature), tenure_months
// (0–72), monthly_charges (18–120), total_charges (≈ tenure × monthly, empty
// for ~2% of rows), contract, support_calls (0–10), payment_method (empty for
// ~1%), paperless_billing (empty for ~3%), and churned (0/1). Churn is drawn from a logistic
// of a hidden relationship — short tenure, month-to-month contracts, many
// support calls, electronic checks and high charges raise it — with a base
// rate near 25%. The features are correlated with one another (long tenure
// goes with long contracts) and the relationship is not linear in them, so a
// logistic regression reaches an AUC near 0.85, not 1.
func GenerateChurn(rows int, seed uint64) *Dataset {
	rows = max(rows, 0)
	rng := rand.New(rand.NewPCG(seed, 0x636875726e)) // "churn"
	cols := make([]*Column, len(churnColumns))
	for j, name := range churnColumns {
		c := &Column{Name: name, Kind: Numeric}
		switch name {
		case "customer_id", "contract", "payment_method", "paperless_billing":
			c.Kind = Categorical
			c.Strings = make([]string, rows)
		default:
			c.Numbers = make([]float64, rows)
		}
		cols[j] = c
	}
	id, tenureC, monthlyC, totalC, contractC := cols[0], cols[1], cols[2], cols[3], cols[4]
	callsC, paymentC, paperlessC, churnC := cols[5], cols[6], cols[7], cols[8]

	for i := range rows {
		id.Strings[i] = fmt.Sprintf("C%06d", i+1)

		// Tenure: many new customers, a long flat tail.
		var tenure int
		if rng.Float64() < 0.3 {
			tenure = rng.IntN(13)
		} else {
			tenure = rng.IntN(73)
		}

		// Contract: longer-tenured customers hold longer contracts.
		t := float64(tenure) / 72
		pM2M := 0.8 - 0.55*t
		pTwo := 0.05 + 0.4*t
		contract := "one-year"
		switch u := rng.Float64(); {
		case u < pM2M:
			contract = "month-to-month"
		case u < pM2M+pTwo:
			contract = "two-year"
		}

		// Charges: a spread of plans, 2 decimals.
		monthly := 70 + 28*rng.NormFloat64()
		if rng.Float64() < 0.2 {
			monthly = 20 + 6*rng.Float64() // basic plans
		}
		monthly = math.Round(clamp(monthly, 18, 120)*100) / 100

		total := math.NaN()
		if rng.Float64() >= 0.02 {
			months := max(float64(tenure), rng.Float64()) // new customers paid part of a month
			total = math.Round(months*monthly*(1+0.05*rng.NormFloat64())*100) / 100
			total = max(total, 0)
		}

		// Support calls: Poisson, more for month-to-month and high charges.
		lambda := 1.2 + 0.6*b2f(contract == "month-to-month") + 0.01*(monthly-70)
		calls := min(poisson(rng, max(lambda, 0.2)), 10)

		payment := pick(rng, []string{"electronic-check", "mailed-check", "bank-transfer", "credit-card"},
			[]float64{0.25 + 0.2*b2f(contract == "month-to-month"), 0.2, 0.22, 0.22})
		if rng.Float64() < 0.01 {
			payment = ""
		}
		paperless := "no"
		if rng.Float64() < 0.55+0.1*b2f(payment == "electronic-check") {
			paperless = "yes"
		}

		// The hidden relationship: non-linear in tenure and calls.
		z := -2.0 +
			-0.9*math.Log1p(float64(tenure)) + 2.2 +
			1.0*b2f(contract == "month-to-month") - 0.9*b2f(contract == "two-year") +
			0.45*math.Max(float64(calls)-2, 0) +
			0.55*b2f(payment == "electronic-check") +
			0.018*(monthly-70) +
			0.15*b2f(paperless == "yes") +
			0.3*rng.NormFloat64() // what the data cannot explain
		churned := 0.0
		if rng.Float64() < sigmoid(z) {
			churned = 1
		}

		tenureC.Numbers[i] = float64(tenure)
		monthlyC.Numbers[i] = monthly
		totalC.Numbers[i] = total
		contractC.Strings[i] = contract
		callsC.Numbers[i] = float64(calls)
		paymentC.Strings[i] = payment
		// Recorded after churn is drawn: the customer's billing choice
		// matters whether or not the CRM knows it. Unknown for ~3%, so the
		// model learns what an absent value means (requests often omit it).
		if rng.Float64() < 0.03 {
			paperless = ""
		}
		paperlessC.Strings[i] = paperless
		churnC.Numbers[i] = churned
	}
	return &Dataset{Columns: cols, Source: fmt.Sprintf("generated:churn?rows=%d&seed=%d", rows, seed)}
}

func poisson(rng *rand.Rand, lambda float64) int {
	// Knuth's method; lambda is small.
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

func pick(rng *rand.Rand, values []string, weights []float64) string {
	total := 0.0
	for _, w := range weights {
		total += w
	}
	u := rng.Float64() * total
	for i, w := range weights {
		if u < w {
			return values[i]
		}
		u -= w
	}
	return values[len(values)-1]
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func clamp(v, lo, hi float64) float64 { return math.Min(math.Max(v, lo), hi) }

func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

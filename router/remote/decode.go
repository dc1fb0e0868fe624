package remote

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// maxExcerpt bounds the bytes of a remote's words quoted in an error: enough
// for infergate's messages, short enough that an HTML error page does not
// flood the log.
const maxExcerpt = 200

// parseInfergate reads an infergate /v1/predictions answer:
//
//	{"prediction": "churn", "probability": 0.83, "model_version": "1.2.0", ...}
//
// Only the probability is required: without a prediction the router labels
// the answer itself, as it does a v2 answer. a is written only on success.
// Errors say what is wrong with the body; the caller wraps them in
// ErrBadResponse.
func parseInfergate(p *fastjson.Parser, body []byte, a *Answer) error {
	v, err := parseObject(p, body)
	if err != nil {
		return err
	}
	prob, why := probability(v.Get("probability"))
	if why != "" {
		return errors.New(`"probability" is ` + why)
	}
	label, err := optionalString(v, "prediction")
	if err != nil {
		return err
	}
	version, err := optionalString(v, "model_version")
	if err != nil {
		return err
	}
	a.Probability = prob
	setString(&a.Label, label)
	setString(&a.Version, version)
	return nil
}

// parseV2 reads an Open Inference Protocol inference response:
//
//	{"model_name": "churn", "model_version": "3",
//	 "outputs": [{"name": "probability", "shape": [1, 1], "datatype": "FP32", "data": [0.83]}]}
//
// The probability is the first element of the output named output (or of
// the first output when output is empty), whatever its numeric datatype and
// however deeply its data is nested. a is written only on success.
func parseV2(p *fastjson.Parser, body []byte, output string, a *Answer) error {
	v, err := parseObject(p, body)
	if err != nil {
		return err
	}
	outputs := v.Get("outputs")
	if outputs == nil || outputs.Type() != fastjson.TypeArray {
		return errors.New(`"outputs" is missing or not an array`)
	}
	list, _ := outputs.Array()
	out, err := pickOutput(list, output)
	if err != nil {
		return err
	}
	data := out.Get("data")
	for data != nil && data.Type() == fastjson.TypeArray {
		elems, _ := data.Array()
		if len(elems) == 0 {
			data = nil
			break
		}
		data = elems[0]
	}
	if data == nil {
		return fmt.Errorf("output %q has no data", out.GetStringBytes("name"))
	}
	prob, why := probability(data)
	if why != "" {
		return fmt.Errorf("the first element of output %q (datatype %q) is %s", out.GetStringBytes("name"), out.GetStringBytes("datatype"), why)
	}
	version, err := optionalString(v, "model_version")
	if err != nil {
		return err
	}
	a.Probability = prob
	a.Label = ""
	setString(&a.Version, version)
	return nil
}

func pickOutput(list []*fastjson.Value, name string) (*fastjson.Value, error) {
	if len(list) == 0 {
		return nil, errors.New(`"outputs" is empty`)
	}
	if name == "" {
		if list[0].Type() != fastjson.TypeObject {
			return nil, errors.New(`"outputs[0]" is not an object`)
		}
		return list[0], nil
	}
	for _, out := range list {
		if string(out.GetStringBytes("name")) == name {
			return out, nil
		}
	}
	names := make([]string, 0, len(list))
	for _, out := range list {
		names = append(names, string(out.GetStringBytes("name")))
	}
	return nil, fmt.Errorf("no output named %q (the answer has %q); set output to one of them", name, names)
}

func parseObject(p *fastjson.Parser, body []byte) (*fastjson.Value, error) {
	v, err := p.ParseBytes(body)
	if err != nil {
		return nil, fmt.Errorf("the body is not JSON: %w; it begins %q", err, excerptBytes(body))
	}
	if v.Type() != fastjson.TypeObject {
		return nil, fmt.Errorf("the body is a JSON %s, not an object: %s", v.Type(), excerptBytes(body))
	}
	return v, nil
}

// probability reads a probability: a finite number, or the router could
// neither label it nor send it on as JSON. It returns why not, or "".
func probability(v *fastjson.Value) (float64, string) {
	if v == nil {
		return 0, "missing"
	}
	if v.Type() != fastjson.TypeNumber {
		return 0, "a " + v.Type().String() + ", not a number"
	}
	x, err := v.Float64()
	if err != nil || !isFinite(x) {
		return 0, excerpt(v.String()) + ", not a finite number"
	}
	return x, ""
}

// optionalString returns the string field key of v, nil when it is absent
// or null.
func optionalString(v *fastjson.Value, key string) ([]byte, error) {
	f := v.Get(key)
	if f == nil || f.Type() == fastjson.TypeNull {
		return nil, nil
	}
	s, err := f.StringBytes()
	if err != nil {
		return nil, fmt.Errorf("%q is a %s, not a string", key, f.Type())
	}
	return s, nil
}

// setString sets *dst to b, allocating only when it changes: a caller that
// reuses its Answer sees the same few labels and versions on every call.
func setString(dst *string, b []byte) {
	if *dst != string(b) {
		*dst = string(b)
	}
}

// remoteMessage extracts the reason from an error body: infergate's
// {"error": {"code", "message"}}, v2's {"error": "..."}, else the body
// itself.
func remoteMessage(p *fastjson.Parser, body []byte) string {
	if v, err := p.ParseBytes(body); err == nil {
		e := v.Get("error")
		switch {
		case e == nil:
		case e.Type() == fastjson.TypeString:
			return excerpt(string(e.GetStringBytes()))
		case e.Type() == fastjson.TypeObject:
			msg, code := string(e.GetStringBytes("message")), string(e.GetStringBytes("code"))
			switch {
			case msg != "" && code != "":
				return excerpt(code + ": " + msg)
			case msg != "":
				return excerpt(msg)
			}
		}
	}
	if msg := excerptBytes(body); msg != "" {
		return msg
	}
	return "(no body)"
}

// excerptBytes is excerpt for a body, which may be large: only its start is
// copied.
func excerptBytes(b []byte) string {
	b = bytes.TrimSpace(b)
	return excerpt(string(b[:min(len(b), maxExcerpt+utf8.UTFMax)]))
}

// excerpt makes s fit in one line of an error: at most maxExcerpt bytes, cut
// at a character boundary, control characters and invalid UTF-8 as spaces
// and U+FFFD.
func excerpt(s string) string {
	var sb strings.Builder
	for _, r := range strings.TrimSpace(s) {
		if isControl(r) {
			r = ' '
		}
		if sb.Len()+utf8.RuneLen(r) > maxExcerpt {
			sb.WriteString("…")
			break
		}
		sb.WriteRune(r)
	}
	return sb.String()
}

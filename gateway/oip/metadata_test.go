package oip_test

import (
	"encoding/json"
	"testing"

	"github.com/infergate/infergate/gateway/oip"
	"github.com/infergate/infergate/registry"
)

func TestMetadataJSON(t *testing.T) {
	t.Parallel()
	f := func(name string, v any, want string) {
		t.Helper()
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if string(b) != want {
			t.Errorf("%s:\n got %s\nwant %s", name, b, want)
		}
	}
	f("server", oip.NewServerMetadata("1.2.0"), `{"name":"infergate","version":"1.2.0","extensions":["binary_tensor_data","classification","model_configuration","statistics"]}`)
	outputs := `"outputs":[` +
		`{"name":"probability","datatype":"FP32","shape":[-1]},` +
		`{"name":"label","datatype":"BYTES","shape":[-1]},` +
		`{"name":"model_version","datatype":"BYTES","shape":[-1]},` +
		`{"name":"target","datatype":"BYTES","shape":[-1]}]`
	f("model", oip.NewModelMetadata("customer-churn", []string{"3", "4"}, testSchema),
		`{"name":"customer-churn","versions":["3","4"],"platform":"onnx_onnxv1","inputs":[`+
			`{"name":"tenure_months","datatype":"FP32","shape":[-1,1]},`+
			`{"name":"monthly_charges","datatype":"FP32","shape":[-1,1]},`+
			`{"name":"has_partner","datatype":"FP32","shape":[-1,1]},`+
			`{"name":"contract","datatype":"BYTES","shape":[-1,1]}],`+outputs+`}`)
	one := oip.NewSchema(&registry.Signature{Features: []registry.Feature{{Name: "plan", Type: registry.Categorical}}})
	f("model without versions", oip.NewModelMetadata("rules-only", nil, one),
		`{"name":"rules-only","platform":"onnx_onnxv1","inputs":[{"name":"plan","datatype":"BYTES","shape":[-1,1]}],`+outputs+`}`)
}

package onnxpb

import (
	"errors"
	"fmt"
	"slices"

	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers of the ONNX messages ExternalData walks.
const (
	modelGraph          = 7
	modelFunctions      = 25
	functionNode        = 7
	graphNode           = 1
	graphInitializer    = 5
	graphSparse         = 15
	nodeAttribute       = 5
	attrTensor          = 5
	attrGraph           = 6
	attrTensors         = 10
	attrGraphs          = 11
	sparseValues        = 1
	sparseIndices       = 2
	tensorExternal      = 13
	tensorDataLocation  = 14
	entryKey            = 1
	entryValue          = 2
	dataLocationExtern  = 1
	maxNesting          = 64
	externalLocationKey = "location"
)

// ExternalData lists the files a model's tensors keep their data in (the
// "location" of every tensor whose data_location is EXTERNAL: initializers,
// sparse initializers, and tensors in node attributes, subgraphs and
// functions included), each once, in the order first met. Locations are
// relative to the model file's folder, as ONNX Runtime reads them. It
// fails on bytes that are not a ModelProto.
func ExternalData(model []byte) ([]string, error) {
	var files []string
	err := scanModel(model, 0, &files)
	return files, err
}

// fields calls fn with each length-delimited field of msg whose number is
// in nums; other fields are skipped.
func fields(msg []byte, fn func(num protowire.Number, v []byte) error, nums ...protowire.Number) error {
	for len(msg) > 0 {
		num, typ, n := protowire.ConsumeTag(msg)
		if n < 0 {
			return errors.New("not an ONNX model: malformed protobuf")
		}
		msg = msg[n:]
		if typ == protowire.BytesType && slices.Contains(nums, num) {
			v, m := protowire.ConsumeBytes(msg)
			if m < 0 {
				return errors.New("not an ONNX model: malformed protobuf")
			}
			if err := fn(num, v); err != nil {
				return err
			}
			msg = msg[m:]
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, msg)
		if m < 0 {
			return errors.New("not an ONNX model: malformed protobuf")
		}
		msg = msg[m:]
	}
	return nil
}

func scanModel(b []byte, depth int, files *[]string) error {
	return fields(b, func(num protowire.Number, v []byte) error {
		if num == modelGraph {
			return scanGraph(v, depth+1, files)
		}
		return fields(v, func(_ protowire.Number, node []byte) error { return scanNode(node, depth+2, files) }, functionNode)
	}, modelGraph, modelFunctions)
}

func scanGraph(b []byte, depth int, files *[]string) error {
	if depth > maxNesting {
		return fmt.Errorf("not an ONNX model: graphs nested more than %d deep", maxNesting)
	}
	return fields(b, func(num protowire.Number, v []byte) error {
		switch num {
		case graphNode:
			return scanNode(v, depth+1, files)
		case graphInitializer:
			return scanTensor(v, files)
		}
		return fields(v, func(_ protowire.Number, t []byte) error { return scanTensor(t, files) }, sparseValues, sparseIndices)
	}, graphNode, graphInitializer, graphSparse)
}

func scanNode(b []byte, depth int, files *[]string) error {
	return fields(b, func(_ protowire.Number, attr []byte) error {
		return fields(attr, func(num protowire.Number, v []byte) error {
			if num == attrGraph || num == attrGraphs {
				return scanGraph(v, depth+1, files)
			}
			return scanTensor(v, files)
		}, attrTensor, attrGraph, attrTensors, attrGraphs)
	}, nodeAttribute)
}

// scanTensor adds the location of an external tensor.
func scanTensor(b []byte, files *[]string) error {
	external, location := false, ""
	for msg := b; len(msg) > 0; {
		num, typ, n := protowire.ConsumeTag(msg)
		if n < 0 {
			return errors.New("not an ONNX model: malformed protobuf")
		}
		msg = msg[n:]
		switch {
		case num == tensorDataLocation && typ == protowire.VarintType:
			v, m := protowire.ConsumeVarint(msg)
			if m < 0 {
				return errors.New("not an ONNX model: malformed protobuf")
			}
			external = v == dataLocationExtern
			msg = msg[m:]
		case num == tensorExternal && typ == protowire.BytesType:
			entry, m := protowire.ConsumeBytes(msg)
			if m < 0 {
				return errors.New("not an ONNX model: malformed protobuf")
			}
			var key, value string
			if err := fields(entry, func(num protowire.Number, v []byte) error {
				if num == entryKey {
					key = string(v)
				} else {
					value = string(v)
				}
				return nil
			}, entryKey, entryValue); err != nil {
				return err
			}
			if key == externalLocationKey {
				location = value
			}
			msg = msg[m:]
		default:
			m := protowire.ConsumeFieldValue(num, typ, msg)
			if m < 0 {
				return errors.New("not an ONNX model: malformed protobuf")
			}
			msg = msg[m:]
		}
	}
	if external && location != "" && !slices.Contains(*files, location) {
		*files = append(*files, location)
	}
	return nil
}

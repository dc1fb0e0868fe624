package oip

import (
	"net/http"
	"strconv"
)

// Config keys that the limit errors name, so that an operator knows what
// to raise.
const (
	maxRowsKey     = "server.max_instances"
	maxElementsKey = "server.max_elements"
	maxInputsKey   = "server.max_features"
)

// Error is a protocol error. Status is the HTTP status the specification and
// Triton use for it (400 for a malformed or unacceptable request); Msg is the
// text of the answer's {"error": Msg}, naming the field at fault and what to
// do about it.
type Error struct {
	Status int
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

// badRequest returns a 400 error with msg. Only error paths call it, so its
// allocation does not count against the request path.
func badRequest(msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Msg: msg}
}

// inputError returns a 400 error about the input named name.
func inputError(name []byte, msg string) *Error {
	return badRequest("input " + strconv.Quote(string(name)) + ": " + msg)
}

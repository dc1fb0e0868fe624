package auth

import "errors"

// The errors of this package, by class: check them with errors.Is. The
// errors returned wrap one class each and say in their message what the
// client should do, so the gateway can answer with err.Error() as is. Every
// error is a package variable: returning one allocates nothing.
var (
	// ErrNoCredentials: the request sent no key (or no admin token). The
	// gateway answers 401 with WWW-Authenticate: Challenge.
	ErrNoCredentials = errors.New("no credentials")
	// ErrBadCredentials: the request sent a key (or admin token) that is not
	// configured, or a malformed Authorization header. The gateway answers
	// 401 with WWW-Authenticate: Challenge.
	ErrBadCredentials = errors.New("bad credentials")
	// ErrOverloaded: Limiter.Acquire found no free slot within its wait. The
	// gateway answers 503 with Retry-After.
	ErrOverloaded = errors.New("overloaded")
)

var (
	errNoKey = &classError{ErrNoCredentials,
		"no API key: send it as \"Authorization: Bearer KEY\" or \"X-API-Key: KEY\""}
	errUnknownKey = &classError{ErrBadCredentials,
		"the API key is not valid; check it, or ask the gateway's operator for a key"}
	errNotBearer = &classError{ErrBadCredentials,
		"the Authorization header must be \"Bearer KEY\"; or send the key as \"X-API-Key: KEY\""}
	errEmptyBearer = &classError{ErrBadCredentials,
		"the Authorization header says Bearer but holds no key; send \"Authorization: Bearer KEY\""}
	errTwoKeys = &classError{ErrBadCredentials,
		"both Authorization and X-API-Key were sent; send the key in one of them"}

	errNoAdminToken = &classError{ErrNoCredentials,
		"no admin token: send it as \"Authorization: Bearer TOKEN\""}
	errBadAdminToken = &classError{ErrBadCredentials,
		"the admin token is not valid; it is the token whose hash is auth.admin.token_sha256"}
	errAdminNotBearer = &classError{ErrBadCredentials,
		"the Authorization header must be \"Bearer TOKEN\" with the admin token"}

	errOverloaded = &classError{ErrOverloaded,
		"the gateway is at its limit of concurrent requests; retry after the Retry-After delay"}
)

// classError is an error of one of the classes above with its own message.
type classError struct {
	class error
	msg   string
}

func (e *classError) Error() string { return e.msg }
func (e *classError) Unwrap() error { return e.class }

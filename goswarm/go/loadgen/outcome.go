package main

import (
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"syscall"
)

// outcome is how one request ended: the HTTP status when an answer came, otherwise one of the
// transport failures below (all negative, so they can never be mistaken for a status).
type outcome int

const (
	refused outcome = -1 - iota
	reset
	timedOut
	otherError
)

func (o outcome) answered() bool { return o > 0 }
func (o outcome) ok() bool       { return o >= 200 && o < 300 }

// name is the key under "errors" in the JSON lines.
func (o outcome) name() string {
	switch o {
	case refused:
		return "refused"
	case reset:
		return "reset"
	case timedOut:
		return "timeout"
	case otherError:
		return "other"
	}
	return "http_" + strconv.Itoa(int(o))
}

// classify sorts a transport error into the kinds a reader of the report cares about. Refused and reset
// are tested before timeouts because syscall.Errno also answers Timeout() for some errnos.
func classify(err error) outcome {
	var netErr net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return refused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		// EOF means the server closed the connection, mid-answer or before it: a reset in all but name.
		return reset
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return timedOut
	}
	return otherError
}

package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
)

func TestClassify(t *testing.T) {
	opError := func(op string, err error) error {
		return &net.OpError{Op: op, Net: "tcp", Err: os.NewSyscallError(op, err)}
	}
	tests := []struct {
		name string
		err  error
		want outcome
	}{
		{"refused dial", opError("dial", syscall.ECONNREFUSED), refused},
		{"reset read", opError("read", syscall.ECONNRESET), reset},
		{"broken pipe", opError("write", syscall.EPIPE), reset},
		{"closed before answering", io.EOF, reset},
		{"closed mid-answer", io.ErrUnexpectedEOF, reset},
		{"deadline", &net.OpError{Op: "raw-read", Err: os.ErrDeadlineExceeded}, timedOut},
		{"dial timeout", &net.DNSError{Err: "i/o timeout", IsTimeout: true}, timedOut},
		{"kernel timeout", opError("read", syscall.ETIMEDOUT), timedOut},
		{"wrapped", fmt.Errorf("while reading: %w", io.ErrUnexpectedEOF), reset},
		{"header too long", bufio.ErrBufferFull, otherError},
		{"not HTTP", errMalformed, otherError},
		{"no such host", &net.DNSError{Err: "no such host", IsNotFound: true}, otherError},
		{"anything else", errors.New("surprise"), otherError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := classify(tt.err); got != tt.want {
				t.Fatalf("classify(%v) = %s, want %s", tt.err, got.name(), tt.want.name())
			}
		})
	}
}

func TestOutcomeNames(t *testing.T) {
	tests := []struct {
		o        outcome
		name     string
		ok       bool
		answered bool
	}{
		{200, "http_200", true, true},
		{204, "http_204", true, true},
		{301, "http_301", false, true},
		{500, "http_500", false, true},
		{refused, "refused", false, false},
		{reset, "reset", false, false},
		{timedOut, "timeout", false, false},
		{otherError, "other", false, false},
	}
	for _, tt := range tests {
		if tt.o.name() != tt.name || tt.o.ok() != tt.ok || tt.o.answered() != tt.answered {
			t.Errorf("outcome %d: name %q ok %v answered %v, want %q %v %v",
				tt.o, tt.o.name(), tt.o.ok(), tt.o.answered(), tt.name, tt.ok, tt.answered)
		}
	}
}

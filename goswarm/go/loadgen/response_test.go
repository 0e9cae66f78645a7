package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReadResponse(t *testing.T) {
	const next = "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n" // follows on the wire: framing must stop right before it
	tests := []struct {
		name         string
		wire         string
		wantStatus   int
		wantReusable bool
		wantErr      error
		wantNext     bool // the next response is read intact after this one
	}{
		{name: "content-length",
			wire:       "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 33\r\n\r\n" + `{"id":"10001","name":"Person_1"}` + "\n" + next,
			wantStatus: 200, wantReusable: true, wantNext: true},
		{name: "header names in any case, no reason phrase",
			wire:       "HTTP/1.1 404\r\ncontent-LENGTH:  3 \r\n\r\nnop" + next,
			wantStatus: 404, wantReusable: true, wantNext: true},
		{name: "bare LF line ends",
			wire:       "HTTP/1.1 200 OK\nContent-Length: 2\n\nok" + next,
			wantStatus: 200, wantReusable: true, wantNext: true},
		{name: "chunked, with an extension and a trailer",
			wire:       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n" + next,
			wantStatus: 200, wantReusable: true, wantNext: true},
		{name: "chunked wins over content-length",
			wire:       "HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n" + next,
			wantStatus: 200, wantReusable: true, wantNext: true},
		{name: "connection close",
			wire:       "HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\nContent-Length: 4\r\n\r\noops",
			wantStatus: 500, wantReusable: false},
		{name: "HTTP/1.0 closes by default",
			wire:       "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
			wantStatus: 200, wantReusable: false},
		{name: "HTTP/1.0 keep-alive",
			wire:       "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok" + next,
			wantStatus: 200, wantReusable: true, wantNext: true},
		{name: "no length: the body runs to EOF",
			wire:       "HTTP/1.1 200 OK\r\n\r\nall of this is body",
			wantStatus: 200, wantReusable: false},
		{name: "204 has no body whatever it says",
			wire:       "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n" + next,
			wantStatus: 204, wantReusable: true, wantNext: true},
		{name: "interim 103 before the answer",
			wire:       "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" + next,
			wantStatus: 200, wantReusable: true, wantNext: true},
		{name: "closed before answering",
			wire:    "",
			wantErr: io.EOF},
		{name: "closed in the status line",
			wire:    "HTTP/1.1 2",
			wantErr: io.ErrUnexpectedEOF},
		{name: "closed in the header",
			wire:       "HTTP/1.1 200 OK\r\nContent-Le",
			wantStatus: 200, wantErr: io.ErrUnexpectedEOF},
		{name: "closed mid-body",
			wire:       "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n1234",
			wantStatus: 200, wantErr: io.ErrUnexpectedEOF},
		{name: "closed mid-chunk",
			wire:       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nshort",
			wantStatus: 200, wantErr: io.ErrUnexpectedEOF},
		{name: "closed before the last chunk",
			wire:       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n",
			wantStatus: 200, wantErr: io.ErrUnexpectedEOF},
		{name: "not HTTP",
			wire:    "SSH-2.0-OpenSSH_9.2\r\n",
			wantErr: errMalformed},
		{name: "bad status code",
			wire:    "HTTP/1.1 2x0 OK\r\n\r\n",
			wantErr: errMalformed},
		{name: "bad content-length",
			wire:       "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
			wantStatus: 200, wantErr: errMalformed},
		{name: "bad chunk size",
			wire:       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
			wantStatus: 200, wantErr: errMalformed},
		{name: "chunk longer than announced",
			wire:       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhello\r\n0\r\n\r\n",
			wantStatus: 200, wantErr: errMalformed},
		{name: "header line without a colon",
			wire:       "HTTP/1.1 200 OK\r\nnonsense\r\n\r\n",
			wantStatus: 200, wantErr: errMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := bufio.NewReaderSize(strings.NewReader(tt.wire), 40) // small, so that bodies span refills
			status, reusable, err := readResponse(r)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			if err != nil && reusable {
				t.Error("a connection that failed must not be reused")
			}
			if status != tt.wantStatus || reusable != tt.wantReusable {
				t.Fatalf("status %d reusable %v, want %d %v", status, reusable, tt.wantStatus, tt.wantReusable)
			}
			if tt.wantNext {
				if status, _, err := readResponse(r); status != 201 || err != nil {
					t.Fatalf("the next response read as %d, %v: the body was not skipped exactly", status, err)
				}
			}
		})
	}
}

func TestReadResponseHeaderTooLong(t *testing.T) {
	wire := "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("a", 100) + "\r\n\r\n"
	_, _, err := readResponse(bufio.NewReaderSize(strings.NewReader(wire), 40))
	if !errors.Is(err, bufio.ErrBufferFull) || classify(err) != otherError {
		t.Fatalf("error = %v, want bufio.ErrBufferFull, classified as other", err)
	}
}

func TestReadResponseDoesNotAllocate(t *testing.T) {
	wires := [][]byte{
		[]byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nhello"),
		[]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
	}
	for _, wire := range wires {
		src := bytes.NewReader(wire)
		r := bufio.NewReaderSize(src, 4096)
		allocs := testing.AllocsPerRun(100, func() {
			src.Reset(wire)
			r.Reset(src)
			if _, _, err := readResponse(r); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Fatalf("readResponse allocates %.0f times per response", allocs)
		}
	}
}

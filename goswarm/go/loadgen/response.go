package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// A lean HTTP/1.x response reader. net/http's client parses every header into maps and strings, which
// costs more CPU per request than the server under test spends; this reads only what framing needs
// (status, Content-Length, Transfer-Encoding, Connection) and skips the body inside the bufio.Reader,
// so reading an answer allocates nothing.

var errMalformed = errors.New("malformed HTTP response")

var (
	headerContentLength    = []byte("Content-Length")
	headerTransferEncoding = []byte("Transfer-Encoding")
	headerConnection       = []byte("Connection")
	tokenChunked           = []byte("chunked")
	tokenClose             = []byte("close")
	tokenKeepAlive         = []byte("keep-alive")
)

// framing is what the headers say about the body and the connection.
type framing struct {
	contentLength int64 // -1: absent
	chunked       bool
	close         bool // "Connection: close"
	keepAlive     bool // "Connection: keep-alive", which only matters for HTTP/1.0
}

// readResponse reads one response from r, discarding its body. reusable tells whether the connection
// can carry the next request. An io.EOF before the first byte means the server had closed the connection.
func readResponse(r *bufio.Reader) (status int, reusable bool, err error) {
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			if len(line) > 0 {
				err = unexpected(err)
			}
			return 0, false, err
		}
		status, http11, err := parseStatusLine(line)
		if err != nil {
			return 0, false, err
		}
		f, err := readHeader(r)
		if err != nil {
			return status, false, unexpected(err)
		}
		if isInterim(status) {
			continue // e.g. 103 Early Hints: the real answer follows
		}
		reusable, err = discardBody(r, status, f)
		reusable = reusable && !f.close && (http11 || f.keepAlive)
		return status, reusable && err == nil, unexpected(err)
	}
}

// parseStatusLine reads "HTTP/1.1 200 OK\r\n"; the reason phrase is optional and ignored.
func parseStatusLine(line []byte) (status int, http11 bool, err error) {
	line = trimEOL(line)
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' ||
		(len(line) > 12 && line[12] != ' ') {
		return 0, false, errMalformed
	}
	code, ok := parseDecimal(line[9:12])
	if !ok || code < 100 {
		return 0, false, errMalformed
	}
	return int(code), line[7] != '0', nil
}

// readHeader reads header lines up to the empty one. Chunked trailers have the same shape, so it
// reads those too.
func readHeader(r *bufio.Reader) (framing, error) {
	f := framing{contentLength: -1}
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return f, err
		}
		line = trimEOL(line)
		if len(line) == 0 {
			return f, nil
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return f, errMalformed
		}
		name, value := line[:colon], bytes.TrimSpace(line[colon+1:])
		switch {
		case bytes.EqualFold(name, headerContentLength):
			n, ok := parseDecimal(value)
			if !ok {
				return f, errMalformed
			}
			f.contentLength = n
		case bytes.EqualFold(name, headerTransferEncoding):
			f.chunked = hasToken(value, tokenChunked)
		case bytes.EqualFold(name, headerConnection):
			f.close = hasToken(value, tokenClose)
			f.keepAlive = hasToken(value, tokenKeepAlive)
		}
	}
}

// discardBody skips the body as the framing describes it. A body that runs until the server closes
// leaves nothing to reuse.
func discardBody(r *bufio.Reader, status int, f framing) (reusable bool, err error) {
	switch {
	case status == 204 || status == 304: // never a body, whatever the headers say
		return true, nil
	case f.chunked:
		return true, discardChunked(r)
	case f.contentLength >= 0:
		_, err := r.Discard(int(f.contentLength))
		return true, err
	}
	_, err = r.WriteTo(io.Discard)
	return false, err
}

func discardChunked(r *bufio.Reader) error {
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return err
		}
		size, ok := parseChunkSize(line)
		if !ok {
			return errMalformed
		}
		if size == 0 {
			_, err := readHeader(r) // the trailers and the final empty line
			return err
		}
		if _, err := r.Discard(int(size)); err != nil {
			return err
		}
		if line, err = r.ReadSlice('\n'); err != nil {
			return err
		}
		if len(trimEOL(line)) != 0 {
			return errMalformed
		}
	}
}

// parseChunkSize reads the hex size at the start of a chunk line, before any ";extension".
func parseChunkSize(line []byte) (int64, bool) {
	line = trimEOL(line)
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		line = line[:i]
	}
	line = bytes.TrimSpace(line)
	if len(line) == 0 || len(line) > 15 { // 15 hex digits cannot overflow an int64
		return 0, false
	}
	var n int64
	for _, c := range line {
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		n = n<<4 | int64(d)
	}
	return n, true
}

// parseDecimal is strconv.ParseInt for bytes, which would otherwise need a string (an allocation).
func parseDecimal(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 { // 18 digits cannot overflow an int64
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// hasToken reports whether a comma-separated header value holds token, ignoring case.
func hasToken(value, token []byte) bool {
	for len(value) > 0 {
		item := value
		if i := bytes.IndexByte(value, ','); i >= 0 {
			item, value = value[:i], value[i+1:]
		} else {
			value = nil
		}
		if bytes.EqualFold(bytes.TrimSpace(item), token) {
			return true
		}
	}
	return false
}

func isInterim(status int) bool { return status >= 100 && status < 200 && status != 101 }

func trimEOL(line []byte) []byte {
	line = bytes.TrimSuffix(line, []byte("\n"))
	return bytes.TrimSuffix(line, []byte("\r"))
}

// unexpected turns an EOF in the middle of a response into io.ErrUnexpectedEOF, which is what it is.
func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

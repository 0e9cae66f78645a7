package main

import (
	"bufio"
	"net"
	"os"
	"syscall"
	"time"
)

// conn is one keep-alive HTTP/1.1 connection.
//
// It is driven through syscall.RawConn to save a syscall per request. A net.Conn user writes the
// request and calls Read, and Read first tries a read that can only fail with EAGAIN, since the
// answer cannot be back yet; only then does the goroutine park on the poller. wrk waits on epoll
// before it reads, and so does this: the request is written from inside a RawConn.Read callback that
// then reports "not readable", so the goroutine parks at once and reads when the answer is there.
// The write has to be inside the callback because RawConn.Read forgets any readiness seen before it
// starts: an answer that arrived between a separate write and the wait would never wake us. A wake
// that comes early costs nothing worse than the ordinary read-or-wait that follows it.
type conn struct {
	tcp    *net.TCPConn
	raw    syscall.RawConn
	reader *bufio.Reader

	// The request being sent, and writeOrWake bound once: a closure made per request would escape
	// into RawConn.Read and allocate every time.
	pending       []byte
	writeErr      error
	writeOrWakeFn func(fd uintptr) bool
}

func dial(addr string, timeout time.Duration) (*conn, error) {
	nc, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	tcp := nc.(*net.TCPConn)
	raw, err := tcp.SyscallConn()
	if err != nil {
		tcp.Close()
		return nil, err
	}
	// 4 KB holds any ordinary status line and header; bodies are skipped whatever their size.
	c := &conn{tcp: tcp, raw: raw, reader: bufio.NewReaderSize(tcp, 4096)}
	c.writeOrWakeFn = c.writeOrWake
	return c, nil
}

// roundTrip sends request and reads the whole answer, all before deadline.
func (c *conn) roundTrip(request []byte, deadline time.Time) (status int, reusable bool, err error) {
	if err := c.tcp.SetDeadline(deadline); err != nil {
		return 0, false, err
	}
	if err := c.sendAndAwait(request); err != nil {
		return 0, false, err
	}
	return readResponse(c.reader)
}

// sendAndAwait writes request and returns once the answer has started to arrive (or the connection
// has closed, or the deadline has passed).
func (c *conn) sendAndAwait(request []byte) error {
	c.pending, c.writeErr = request, nil
	err := c.raw.Read(c.writeOrWakeFn)
	if c.writeErr != nil {
		return c.writeErr
	}
	return err
}

// writeOrWake is the RawConn.Read callback. Its first call writes the pending request and asks to wait
// for readability; the next comes when the poller has seen the answer arrive.
func (c *conn) writeOrWake(fd uintptr) bool {
	if c.pending == nil {
		return true
	}
	c.writeErr = writeAll(int(fd), c.pending)
	c.pending = nil
	return c.writeErr != nil
}

// writeAll writes b to a non-blocking socket. A request is far smaller than an idle connection's send
// buffer, so EAGAIN would mean something is badly wrong; it is reported, not waited out.
func writeAll(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := syscall.Write(fd, b)
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return os.NewSyscallError("write", err)
		}
		b = b[n:]
	}
	return nil
}

func (c *conn) close() { c.tcp.Close() }

package main

import (
	"bufio"
	"math/rand"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// load is what all users share: what to send, how, and when to stop.
type load struct {
	target  *target
	timeout time.Duration
	period  time.Duration // between one user's requests under -rate; 0: back to back
	budget  atomic.Int64  // requests left under -max-requests
	active  atomic.Int64  // users running
	stop    chan struct{} // closed to end the run
	halt    sync.Once
}

func (l *load) stopNow() { l.halt.Do(func() { close(l.stop) }) }

func (l *load) stopped() bool {
	select {
	case <-l.stop:
		return true
	default:
		return false
	}
}

// startUsers starts users 0..n-1 spread evenly over ramp, each reporting into its own recorder. The
// channel it returns closes once every user has ended (users not yet started when the run stops never
// start).
func (l *load) startUsers(recorders []*recorder, ramp time.Duration) <-chan struct{} {
	var running sync.WaitGroup
	running.Add(1)
	go func() {
		defer running.Done()
		begin := time.Now()
		n := len(recorders)
		for i, rec := range recorders {
			at := begin.Add(time.Duration(float64(ramp) * float64(i) / float64(n)))
			if !sleepUntil(at, l.stop) {
				return
			}
			running.Add(1)
			go func(u *user) {
				defer running.Done()
				u.run()
			}(newUser(l, rec, int64(i)))
		}
	}()
	done := make(chan struct{})
	go func() {
		running.Wait()
		close(done)
	}()
	return done
}

// user is one simulated client: a goroutine that owns one keep-alive connection and loops requests
// over it, dialling again whenever the connection breaks or the server closes it. Blocking reads in
// many goroutines cost about what wrk's event loop does, since Go multiplexes them onto epoll anyway.
type user struct {
	load    *load
	rec     *recorder
	rng     *rand.Rand
	conn    net.Conn
	reader  *bufio.Reader
	request []byte // reused for every request
}

func newUser(l *load, rec *recorder, seed int64) *user {
	return &user{
		load:    l,
		rec:     rec,
		rng:     rand.New(rand.NewSource(time.Now().UnixNano() + seed)), // the global one locks
		reader:  bufio.NewReaderSize(nil, 4096),
		request: make([]byte, 0, 256),
	}
}

func (u *user) run() {
	l := u.load
	l.active.Add(1)
	defer l.active.Add(-1)
	defer u.hangUp()

	var slot time.Time // when the next request is due under -rate
	if l.period > 0 {
		// A random phase keeps users started together from firing together.
		slot = time.Now().Add(time.Duration(u.rng.Int63n(int64(l.period))))
	}
	for {
		if l.period > 0 {
			if !sleepUntil(slot, l.stop) {
				return
			}
			slot = nextSlot(slot, l.period, time.Now())
		}
		if l.stopped() || l.budget.Add(-1) < 0 {
			return
		}
		u.rec.add(u.send())
	}
}

// nextSlot paces an open loop. Slots missed while waiting for a slow answer are dropped rather than
// fired in a burst afterwards: the burst would be load the -rate never asked for.
func nextSlot(slot time.Time, period time.Duration, now time.Time) time.Time {
	slot = slot.Add(period)
	if slot.Before(now) {
		return now
	}
	return slot
}

// send makes one request. Its latency runs from writing the request to having read the whole answer,
// as wrk measures it; dialling is not part of it, and a transport error has none.
func (u *user) send() (outcome, time.Duration) {
	if u.conn == nil {
		if err := u.dial(); err != nil {
			return classify(err), 0
		}
	}
	t := u.load.target
	if len(t.ids) > 0 {
		u.request = t.appendRequest(u.request[:0], t.ids[u.rng.Intn(len(t.ids))])
	} else {
		u.request = t.appendRequest(u.request[:0], "")
	}

	start := time.Now()
	status, reusable, err := u.exchange(start.Add(u.load.timeout))
	latency := time.Since(start)
	if err != nil || !reusable {
		u.hangUp()
	}
	if err != nil {
		return classify(err), 0
	}
	return outcome(status), latency
}

func (u *user) exchange(deadline time.Time) (status int, reusable bool, err error) {
	if err := u.conn.SetDeadline(deadline); err != nil {
		return 0, false, err
	}
	if _, err := u.conn.Write(u.request); err != nil {
		return 0, false, err
	}
	return readResponse(u.reader)
}

func (u *user) dial() error {
	conn, err := net.DialTimeout("tcp", u.load.target.addr, u.load.timeout)
	if err != nil {
		return err
	}
	u.conn = conn
	u.reader.Reset(conn)
	return nil
}

func (u *user) hangUp() {
	if u.conn != nil {
		u.conn.Close()
		u.conn = nil
	}
}

// sleepUntil waits until t and reports true, or reports false as soon as stop closes.
func sleepUntil(t time.Time, stop <-chan struct{}) bool {
	wait := time.Until(t)
	if wait <= 0 {
		select {
		case <-stop:
			return false
		default:
			return true
		}
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-stop:
		return false
	}
}

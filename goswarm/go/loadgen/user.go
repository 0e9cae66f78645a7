package main

import (
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

// startUsers starts the users spread evenly over ramp. The channel it returns closes once every user has
// ended (users not yet started when the run stops never start).
func startUsers(users []*user, ramp time.Duration, stop <-chan struct{}) <-chan struct{} {
	var running sync.WaitGroup
	running.Add(1)
	go func() {
		defer running.Done()
		begin := time.Now()
		for i, u := range users {
			at := begin.Add(time.Duration(float64(ramp) * float64(i) / float64(len(users))))
			if !sleepUntil(at, stop) {
				return
			}
			running.Add(1)
			go func(u *user) {
				defer running.Done()
				u.run()
			}(u)
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
// over it, dialling again whenever the connection breaks or the server closes it.
type user struct {
	load    *load
	conn    *conn // nil until dialled, and after an error
	rand    xorshift
	request []byte   // reused for every request
	rec     recorder // last: its histogram is large, its lock and counters come first
}

func newUser(l *load, seed int64) *user {
	return &user{
		load:    l,
		rand:    newXorshift(uint64(time.Now().UnixNano()) + uint64(seed)),
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
		slot = time.Now().Add(time.Duration(u.rand.next() % uint64(l.period)))
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
	l := u.load
	if u.conn == nil {
		c, err := dial(l.target.addr, l.timeout)
		if err != nil {
			return classify(err), 0
		}
		u.conn = c
	}
	u.request = l.target.appendRequest(u.request[:0], u.pickID())

	start := time.Now()
	status, reusable, err := u.conn.roundTrip(u.request, start.Add(l.timeout))
	latency := time.Since(start)
	if err != nil || !reusable {
		u.hangUp()
	}
	if err != nil {
		return classify(err), 0
	}
	return outcome(status), latency
}

func (u *user) pickID() string {
	ids := u.load.target.ids
	if len(ids) == 0 {
		return "" // the URL has no {id}
	}
	return ids[u.rand.next()%uint64(len(ids))]
}

func (u *user) hangUp() {
	if u.conn != nil {
		u.conn.close()
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

// xorshift is xorshift64*, each user's own source of ids. math/rand's global source takes a lock, and a
// source of its own per user is 5 KB: with a thousand users, a cache miss on every pick.
type xorshift uint64

// newXorshift scrambles seed with splitmix64's finaliser, so that users seeded one apart do not start
// with related sequences.
func newXorshift(seed uint64) xorshift {
	z := seed + 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return xorshift(z ^ z>>31 | 1) // zero would stay zero forever
}

func (x *xorshift) next() uint64 {
	v := uint64(*x)
	v ^= v >> 12
	v ^= v << 25
	v ^= v >> 27
	*x = xorshift(v)
	return v * 2685821657736338717
}

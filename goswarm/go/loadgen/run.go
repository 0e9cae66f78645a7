package main

import (
	"fmt"
	"io"
	"time"
)

// graceAfterDuration is how long after -duration the run waits for requests still in flight before
// it gives up on them: a generator that can hang would hang whatever drives it. (A variable only so
// that the test of it need not take 30 s.)
var graceAfterDuration = 30 * time.Second

// hung is the warning for a run cut off by the grace period.
type hung struct{ users int64 }

func (h hung) Error() string {
	return fmt.Sprintf("gave up waiting for %d users' requests %s after -duration", h.users, graceAfterDuration)
}

// run drives the load cfg describes and writes its JSON lines to out. It ends when the duration is up,
// when -max-requests have been made, or when interrupt closes; in-flight requests are awaited, up to
// their timeout.
func run(cfg config, out io.Writer, interrupt <-chan struct{}) error {
	l := &load{
		target:  cfg.target,
		timeout: cfg.timeout,
		period:  cfg.period(),
		stop:    make(chan struct{}),
	}
	l.budget.Store(cfg.maxRequests)
	users := make([]*user, cfg.users)
	recorders := make([]*recorder, cfg.users)
	for i := range users {
		users[i] = newUser(l, int64(i))
		recorders[i] = &users[i].rec
	}

	began := time.Now()
	rep := newReporter(out, recorders, began)
	usersDone := startUsers(users, cfg.ramp, l.stop)
	ticker := time.NewTicker(cfg.interval)
	defer ticker.Stop()
	end := time.NewTimer(cfg.duration)
	defer end.Stop()
	giveUp := time.NewTimer(cfg.duration + graceAfterDuration)
	defer giveUp.Stop()

	for {
		select {
		case <-ticker.C:
			if err := rep.tick(l.active.Load()); err != nil {
				l.stopNow()
				return err
			}
		case <-end.C:
			l.stopNow()
		case <-interrupt:
			interrupt = nil // a closed channel would fire on every turn of the loop
			l.stopNow()
		case <-usersDone:
			return rep.finish(0, cfg.users)
		case <-giveUp.C:
			stuck := l.active.Load()
			if err := rep.finish(stuck, cfg.users); err != nil {
				return err
			}
			return hung{stuck}
		}
	}
}

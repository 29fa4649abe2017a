package balance

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/rshm/rshm"
	"github.com/rshm/rshm/rsocket"
)

// testClient is a Client over n instances without connections (each
// admitted with a placeholder rshm.Conn, which the strategy never uses),
// on a clock the test sets.
func testClient(t *testing.T, n int, cfg Config, randN func(int) int) (*Client, *int64) {
	t.Helper()
	insts := make([]*instance, n)
	for i := range insts {
		insts[i] = newInstance(fmt.Sprintf("i%d", i))
	}
	clock := new(int64)
	c := newClient(insts, cfg, func() int64 { return *clock }, randN)
	for _, in := range insts {
		c.admit(in, &rshm.Conn{})
	}
	t.Cleanup(func() { c.Close() })
	return c, clock
}

// script is a random source that returns vals in order.
func script(t *testing.T, vals ...int) func(int) int {
	return func(n int) int {
		t.Helper()
		if len(vals) == 0 {
			t.Fatal("random source exhausted")
		}
		v := vals[0]
		vals = vals[1:]
		if v >= n {
			t.Fatalf("scripted %d is out of [0, %d)", v, n)
		}
		return v
	}
}

func index(c *Client, in *instance) int { return slices.Index(c.insts, in) }

// TestChooseP2C: the two candidates are distinct (the second draw skips
// the first), the lower cost wins, and a lease-blocked candidate is passed
// over.
func TestChooseP2C(t *testing.T) {
	tests := []struct {
		name    string
		draws   []int
		costs   [3]float64 // estimates; nothing outstanding
		blocked [3]bool
		want    int
	}{
		{"second draw below the first", []int{2, 1}, [3]float64{1, 30, 20}, [3]bool{}, 2},
		{"second draw at the first is shifted past it", []int{0, 0}, [3]float64{50, 40, 1}, [3]bool{}, 1},
		{"lower cost first", []int{0, 1}, [3]float64{10, 20, 30}, [3]bool{}, 0},
		{"tie goes to the first", []int{1, 1}, [3]float64{5, 7, 7}, [3]bool{}, 1},
		{"lease-blocked candidate passed over", []int{0, 0}, [3]float64{1, 50, 100}, [3]bool{true, false, false}, 1},
		{"both blocked: the next unblocked from the first", []int{1, 1}, [3]float64{1, 2, 3}, [3]bool{true, true, false}, 2},
		{"all blocked: the first", []int{2, 0}, [3]float64{1, 2, 3}, [3]bool{true, true, true}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, clock := testClient(t, 3, Config{}, script(t, tc.draws...))
			*clock = 1000
			for i, in := range c.insts {
				in.est.reset(tc.costs[i], *clock)
				if tc.blocked[i] {
					in.blockLease(*clock + 1)
				}
			}
			if got := index(c, c.choose(*c.admitted.Load(), *clock)); got != tc.want {
				t.Errorf("got instance %d; want %d", got, tc.want)
			}
		})
	}
}

// TestChooseP2COutstanding: of two equal estimates the instance with fewer
// requests outstanding wins, and one with requests outstanding and no
// estimate yet loses to any estimate.
func TestChooseP2COutstanding(t *testing.T) {
	c, clock := testClient(t, 2, Config{}, script(t, 0, 0, 0, 0))
	a, b := c.insts[0], c.insts[1]
	a.est.reset(100, 0)
	b.est.reset(100, 0)
	a.start(0)
	if got := c.choose(*c.admitted.Load(), *clock); got != b {
		t.Errorf("equal estimates, one outstanding on the first: got %s; want i1", got.addr)
	}
	a.est.reset(0, 0)
	b.est.reset(1e12, 0)
	if got := c.choose(*c.admitted.Load(), *clock); got != b {
		t.Errorf("no estimate with one outstanding against a large estimate: got %s; want i1", got.addr)
	}
}

// TestChooseRoundRobin: instances in turn, skipping lease-blocked ones.
func TestChooseRoundRobin(t *testing.T) {
	c, clock := testClient(t, 3, Config{Strategy: RoundRobin}, nil)
	var got []int
	pick := func() { got = append(got, index(c, c.choose(*c.admitted.Load(), *clock))) }
	for range 4 {
		pick()
	}
	c.insts[2].blockLease(1)
	for range 3 {
		pick()
	}
	if want := []int{0, 1, 2, 0, 1, 0, 0}; !slices.Equal(got, want) {
		t.Errorf("got %v; want %v", got, want)
	}
}

// simulate runs n request-responses from requesters closed-loop clients
// (each sends its next request when its last is answered) on the client's
// clock, instance i answering after lat(i, k) for its k-th request. It
// returns how many requests each instance got and every round trip.
func simulate(c *Client, clock *int64, requesters, n int, lat func(i, k int) int64) (per []int, rtts []int64) {
	type req struct {
		in          *instance
		start, done int64
	}
	per = make([]int, len(c.insts))
	var out []req
	issue := func() {
		in := c.choose(*c.admitted.Load(), *clock)
		i := index(c, in)
		out = append(out, req{in, in.start(*clock), *clock + lat(i, per[i])})
		per[i]++
	}
	for range requesters {
		issue()
	}
	for range n {
		m := 0
		for i := range out {
			if out[i].done < out[m].done {
				m = i
			}
		}
		r := out[m]
		out = slices.Delete(out, m, m+1)
		*clock = r.done
		r.in.end(r.done)
		r.in.est.observe(r.done-r.start, r.done)
		rtts = append(rtts, r.done-r.start)
		issue()
	}
	return per, rtts
}

func p99(rtts []int64) int64 {
	s := slices.Clone(rtts)
	slices.Sort(s)
	return s[len(s)*99/100]
}

// TestStrategyOneSlow is BenchmarkBalance's question on a synthetic clock:
// five instances answering in about 50us, one of them 10 ms slower. P2C
// sends the slow one almost nothing and keeps its p99 within 1.5x of the
// p99 with all five fast; round-robin sends it a fifth and its p99 is the
// slow one's latency.
func TestStrategyOneSlow(t *testing.T) {
	const n = 20000
	fast := func(_, k int) int64 { return 50_000 + int64(k%7)*1000 }
	oneSlow := func(i, k int) int64 {
		if i == 0 {
			return 10_000_000 + fast(i, k)
		}
		return fast(i, k)
	}
	for _, requesters := range []int{1, 8} {
		t.Run(fmt.Sprintf("requesters=%d", requesters), func(t *testing.T) {
			run := func(s Strategy, lat func(i, k int) int64) ([]int, int64) {
				rng := rand.New(rand.NewPCG(1, 2))
				c, clock := testClient(t, 5, Config{Strategy: s}, rng.IntN)
				per, rtts := simulate(c, clock, requesters, n, lat)
				return per, p99(rtts)
			}
			_, baseP99 := run(P2C, fast)
			per, p2cP99 := run(P2C, oneSlow)
			if per[0] > n/200 {
				t.Errorf("P2C sent %d of %d requests to the slow instance; want at most 0.5%%", per[0], n)
			}
			if float64(p2cP99) > 1.5*float64(baseP99) {
				t.Errorf("P2C p99 with one slow instance %v; all fast %v: want at most 1.5x", time.Duration(p2cP99), time.Duration(baseP99))
			}
			rrPer, rrP99 := run(RoundRobin, oneSlow)
			if rrPer[0] < n/5 {
				t.Errorf("round-robin sent %d of %d requests to the slow instance; want a fifth", rrPer[0], n)
			}
			if rrP99 < 10_000_000 {
				t.Errorf("round-robin p99 %v; want the slow instance's latency", time.Duration(rrP99))
			}
			t.Logf("p99: all fast %v, P2C %v (slow instance got %d), round-robin %v", time.Duration(baseP99), time.Duration(p2cP99), per[0], time.Duration(rrP99))
		})
	}
}

// TestCheckEjectsOutlier: the stall check ejects an instance predicted
// more than StallFactor times slower than the median, and kicks its
// watcher; it leaves the others.
func TestCheckEjectsOutlier(t *testing.T) {
	c, clock := testClient(t, 5, Config{}, nil)
	*clock = 1000
	for i, in := range c.insts {
		in.est.reset([]float64{100, 120, 90, 5000, 110}[i], *clock)
	}
	c.check(*clock)
	for i, in := range c.insts {
		want := Admitted
		if i == 3 {
			want = Ejected
		}
		if got := State(in.state.Load()); got != want {
			t.Errorf("instance %d: got %v; want %v", i, got, want)
		}
	}
	select {
	case why := <-c.insts[3].kick:
		if why != ejectSlow {
			t.Errorf("kick: got %v; want %v", why, ejectSlow)
		}
	default:
		t.Error("the ejected instance's watcher was not kicked")
	}
	if n := len(*c.admitted.Load()); n != 4 {
		t.Errorf("admitted: got %d; want 4", n)
	}

	// Nothing known yet (a median of zero): no ejection.
	c2, _ := testClient(t, 3, Config{}, nil)
	c2.insts[0].est.reset(1e6, 0)
	c2.check(0)
	if n := len(*c2.admitted.Load()); n != 3 {
		t.Errorf("median zero: %d admitted; want 3", n)
	}
}

// TestStallEjectionBound: stall ejections stop at half of the connected
// instances; a connection that ends is ejected regardless.
func TestStallEjectionBound(t *testing.T) {
	c, _ := testClient(t, 4, Config{}, nil)
	var got []bool
	for _, in := range c.insts {
		got = append(got, c.eject(in, in.conn.Load(), ejectTimeouts))
	}
	if want := []bool{true, true, false, false}; !slices.Equal(got, want) {
		t.Errorf("stall ejections of 4 instances: got %v; want %v", got, want)
	}
	if !c.eject(c.insts[3], c.insts[3].conn.Load(), ejectEnded) {
		t.Error("a connection that ended was not ejected")
	}
	if c.eject(c.insts[3], &rshm.Conn{}, ejectEnded) {
		t.Error("ejected by a connection that is not the admitted one")
	}
}

// TestAdmitAsNew: a re-admitted instance starts without a prediction: it
// wins its next pick, and loses the following ones while that request is
// outstanding.
func TestAdmitAsNew(t *testing.T) {
	c, clock := testClient(t, 2, Config{}, script(t, 0, 0, 1, 0))
	a, b := c.insts[0], c.insts[1]
	a.est.reset(100, 0)
	b.est.reset(9e6, 0)
	if !c.eject(b, b.conn.Load(), ejectSlow) {
		t.Fatal("not ejected")
	}
	<-b.kick
	c.admit(b, &rshm.Conn{})
	if got := b.est.value(*clock); got != 0 {
		t.Errorf("estimate after re-admission: got %v; want 0", got)
	}
	if got := c.choose(*c.admitted.Load(), *clock); got != b {
		t.Fatalf("first pick after re-admission: got %s; want i1", got.addr)
	}
	b.start(*clock)
	if got := c.choose(*c.admitted.Load(), *clock); got != a {
		t.Errorf("pick while its first request is outstanding: got %s; want i0", got.addr)
	}
}

func TestEjectionTime(t *testing.T) {
	const base, maxd = 100 * time.Millisecond, 10 * time.Second
	tests := []struct {
		strikes int
		want    time.Duration
	}{{0, base}, {1, 2 * base}, {3, 8 * base}, {6, 6400 * time.Millisecond}, {7, maxd}, {62, maxd}, {100, maxd}}
	for _, tc := range tests {
		if got := ejectionTime(tc.strikes, base, maxd); got != tc.want {
			t.Errorf("strikes %d: got %v; want %v", tc.strikes, got, tc.want)
		}
	}
}

// TestClassify: what a request's error says about its instance.
func TestClassify(t *testing.T) {
	app := &rsocket.Error{Code: rsocket.CodeApplicationError, Message: "no"}
	rej := &rsocket.Error{Code: rsocket.CodeRejected, Message: "request outside the lease"}
	tests := []struct {
		name      string
		err, ctx  error
		connEnded bool
		leased    bool
		want      outcome
	}{
		{"success", nil, nil, false, false, answered},
		{"application error", app, nil, false, false, answered},
		{"no lease", rsocket.ErrNoLease, nil, false, true, noLease},
		{"peer closing", rsocket.ErrClosing, nil, false, false, draining},
		{"connection ended", errors.New("EOF"), nil, true, false, ended},
		{"closed locally", rsocket.ErrClosed, nil, true, false, ended},
		{"deadline", context.DeadlineExceeded, context.DeadlineExceeded, false, false, timedOut},
		{"cancelled", context.Canceled, context.Canceled, false, false, abandoned},
		{"rejected under lease", rej, nil, false, true, rejected},
		{"rejected without lease is an answer", rej, nil, false, false, answered},
	}
	for _, tc := range tests {
		if got := classify(tc.err, tc.ctx, tc.connEnded, tc.leased); got != tc.want {
			t.Errorf("%s: got %d; want %d", tc.name, got, tc.want)
		}
	}
}

// TestNoInstance: with nothing admitted a request waits up to its ctx, or
// fails at once with FailFast; after Close it fails with ErrClosed.
func TestNoInstance(t *testing.T) {
	for _, failFast := range []bool{false, true} {
		c := newClient([]*instance{newInstance("a")}, Config{FailFast: failFast}, monotonic, rand.IntN)
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		_, err := c.RequestResponse(ctx, rsocket.Payload{})
		cancel()
		if !errors.Is(err, ErrNoInstance) || errors.Is(err, context.DeadlineExceeded) == failFast {
			t.Errorf("FailFast %v: got %v", failFast, err)
		}
		c.Close()
		if _, err := c.RequestResponse(context.Background(), rsocket.Payload{}); !errors.Is(err, ErrClosed) {
			t.Errorf("after Close: got %v; want ErrClosed", err)
		}
	}
}

// TestPickAllocs: the balancer's own work per request (pick, account,
// measure) does not allocate.
func TestPickAllocs(t *testing.T) {
	for _, s := range []Strategy{P2C, RoundRobin} {
		rng := rand.New(rand.NewPCG(1, 2))
		c, clock := testClient(t, 5, Config{Strategy: s}, rng.IntN)
		allocs := testing.AllocsPerRun(1000, func() {
			in := c.choose(*c.admitted.Load(), *clock)
			start := in.start(*clock)
			*clock += 1000
			in.end(*clock)
			in.est.observe(*clock-start, *clock)
			in.requests.Add(1)
		})
		if allocs != 0 {
			t.Errorf("%v: %v allocations per request; want 0", s, allocs)
		}
	}
}

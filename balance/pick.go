package balance

import "fmt"

// Strategy is how a Client picks the instance for a request among those
// admitted.
type Strategy uint8

const (
	// P2C, the power of two choices: draw two distinct admitted instances
	// at random and send to the one of lower cost, its predicted latency
	// (a peak-sensitive moving average, see Config.DecayTime) times its
	// outstanding requests plus one. Random pairs spread the load without
	// a herd on the one instance that looks best, and the cost moves
	// traffic off an instance as soon as it slows down or queues.
	P2C Strategy = iota
	// RoundRobin sends to the admitted instances in turn, whatever their
	// latency: the baseline to compare P2C against.
	RoundRobin
)

var strategyNames = [...]string{P2C: "p2c", RoundRobin: "round-robin"}

func (s Strategy) String() string {
	if int(s) < len(strategyNames) {
		return strategyNames[s]
	}
	return fmt.Sprintf("Strategy(%d)", s)
}

// choose picks the instance for a request among list (admitted, not
// empty) at now. An instance whose lease is exhausted is passed over while
// another is not; if every one is, the pick is made as if none were, and
// the request meets the missing lease (rsocket.ErrNoLease, or a wait
// under LeaseConfig.WaitForLease).
func (c *Client) choose(list []*instance, now int64) *instance {
	n := len(list)
	if n == 1 {
		return list[0]
	}
	if c.cfg.Strategy == RoundRobin {
		start := int((c.rr.Add(1) - 1) % uint64(n))
		for k := range n {
			if in := list[(start+k)%n]; !in.leaseBlocked(now) {
				return in
			}
		}
		return list[start]
	}
	i := c.randN(n)
	j := c.randN(n - 1)
	if j >= i {
		j++
	}
	a, b := list[i], list[j]
	switch ab, bb := a.leaseBlocked(now), b.leaseBlocked(now); {
	case ab && bb:
		for k := range n {
			if in := list[(i+k)%n]; !in.leaseBlocked(now) {
				return in
			}
		}
		return a
	case ab:
		return b
	case bb:
		return a
	}
	if cost(&b.est, &b.load, now) < cost(&a.est, &a.load, now) {
		return b
	}
	return a
}

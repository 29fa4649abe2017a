package kafkatransport

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// stateIdle is how long the reading of the session topic waits for more
// records before it takes the log's end as reached: the last records of a
// compacted log can be gone, so the end offset is not always a record's.
const stateIdle = 500 * time.Millisecond

// readStates reads the session topic from its beginning to its end and
// returns the latest checkpoint of each live connection of the request
// topic's partitions ps, by connection id. A record that does not parse is
// logged and skipped.
func (l *Listener) readStates(ctx context.Context, cl *kgo.Client, ps []int32) (map[string]*sessionState, error) {
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, l.state)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("kafkatransport: reading the end of %s: %w", l.state, err)
	}
	want := make(map[int32]int64)
	from := make(map[int32]kgo.Offset)
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			want[o.Partition] = o.Offset
			from[o.Partition] = kgo.NewOffset().AtStart()
		}
	})
	states := make(map[string]*sessionState)
	if len(want) == 0 {
		return states, nil
	}
	rd, err := newClient(l.seeds, &l.cfg, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{l.state: from}))
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	for len(want) > 0 {
		pctx, cancel := context.WithTimeout(ctx, stateIdle)
		fs := rd.PollFetches(pctx)
		idle := pctx.Err() != nil
		cancel()
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) && ferr == nil {
				ferr = err
			}
		})
		if ferr != nil {
			return nil, fmt.Errorf("kafkatransport: reading %s: %w", l.state, ferr)
		}
		if idle && fs.NumRecords() == 0 {
			break
		}
		fs.EachRecord(func(r *kgo.Record) {
			if end, ok := want[r.Partition]; ok && r.Offset >= end-1 {
				delete(want, r.Partition)
			}
			if r.Value == nil {
				delete(states, string(r.Key))
				return
			}
			st, err := parseState(r.Value)
			if err != nil {
				l.log.Warn("kafkatransport: skipping a session record", "connection", string(r.Key), "err", err)
				delete(states, string(r.Key))
				return
			}
			states[string(r.Key)] = st
		})
	}
	for id, st := range states {
		if !slices.Contains(ps, st.partition) {
			delete(states, id)
		}
	}
	return states, nil
}

package rshmbench

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/rshm/rshm/internal/benchkit"
)

// key is what rows compare on: the same model, size and concurrency.
type key struct {
	model      string
	size, conc int
}

func keyOf(r *benchkit.Row) key { return key{r.Model, r.Size, r.Concurrency} }

// ratio returns r's msgs/s over the baseline's for the same key, and false
// when there is no baseline row to compare with.
func ratio(r *benchkit.Row, base map[key]*benchkit.Row) (float64, bool) {
	b, ok := base[keyOf(r)]
	if !ok || b.Err != "" || b.MsgsPerS == 0 || r.Err != "" {
		return 0, false
	}
	return r.MsgsPerS / b.MsgsPerS, true
}

// WriteTable prints rows grouped by model, concurrency and size, each row
// with its throughput ratio to rshm-tcp and to raw-tcp measured in the
// same run.
func WriteTable(w io.Writer, rows []benchkit.Row) error {
	byTransport := map[string]map[key]*benchkit.Row{}
	order := map[string]int{}
	for i, t := range benchkit.Transports() {
		order[t.String()] = i
		byTransport[t.String()] = map[key]*benchkit.Row{}
	}
	sorted := make([]*benchkit.Row, len(rows))
	for i := range rows {
		r := &rows[i]
		sorted[i] = r
		if m := byTransport[r.Transport]; m != nil {
			m[keyOf(r)] = r
		}
	}
	models := map[string]int{}
	for i, m := range benchkit.Models() {
		models[m.String()] = i
	}
	slices.SortStableFunc(sorted, func(a, b *benchkit.Row) int {
		return cmp.Or(cmp.Compare(models[a.Model], models[b.Model]), cmp.Compare(a.Concurrency, b.Concurrency),
			cmp.Compare(a.Size, b.Size), cmp.Compare(order[a.Transport], order[b.Transport]))
	})
	fmt.Fprintln(w, "latency: rr and channel round trip, fnf send, stream one-way delay under load")
	fmt.Fprintln(w, "×rshm-tcp, ×raw-tcp: msgs/s divided by that transport's msgs/s for the same model, size and concurrency")
	fmt.Fprintln(w, "cpu/msg: CPU time (user+sys) of the client + the server per message")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "model\tconc\tsize\ttransport\tp50\tp90\tp99\tp99.9\tmax\tmsgs/s\tGB/s\tcpu/msg\t×rshm-tcp\t×raw-tcp\t")
	var last key
	for i, r := range sorted {
		if k := keyOf(r); i > 0 && k != last {
			fmt.Fprintln(tw, "\t\t\t\t\t\t\t\t\t\t\t\t\t\t")
		}
		last = keyOf(r)
		head := fmt.Sprintf("%s\t%d\t%s\t%s\t", r.Model, r.Concurrency, benchkit.SizeName(r.Size), r.Transport)
		if r.Err != "" && r.Msgs == 0 {
			fmt.Fprintf(tw, "%sfailed: %s\t\t\t\t\t\t\t\t\t\t\n", head, r.Err)
			continue
		}
		fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\t%s\t%s\t%.3f\t%s+%s\t%s\t%s\t\n", head,
			ns(r.P50), ns(r.P90), ns(r.P99), ns(r.P999), ns(r.Max), count(r.MsgsPerS), r.BytesPerS/1e9,
			ns(int64(r.ClientCPUPerMsg)), ns(int64(r.ServerCPUPerMsg)),
			times(ratio(r, byTransport["rshm-tcp"])), times(ratio(r, byTransport["raw-tcp"])))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range sorted {
		if r.Err != "" {
			fmt.Fprintf(w, "error: %s %s %s c=%d: %s\n", r.Transport, r.Model, benchkit.SizeName(r.Size), r.Concurrency, r.Err)
		}
		if r.Starved > 0 {
			fmt.Fprintf(w, "starved: %s %s %s c=%d: %d of %d workers had not done their warm-up operations when it ended at its bound\n",
				r.Transport, r.Model, benchkit.SizeName(r.Size), r.Concurrency, r.Starved, r.Concurrency)
		}
	}
	return nil
}

// ns writes a duration with three significant digits: 812ns, 4.21µs.
func ns(v int64) string {
	d := time.Duration(v)
	switch {
	case d < time.Microsecond:
		return fmt.Sprintf("%dns", v)
	case d < time.Millisecond:
		return fmt.Sprintf("%.3gµs", float64(v)/1e3)
	case d < time.Second:
		return fmt.Sprintf("%.3gms", float64(v)/1e6)
	}
	return fmt.Sprintf("%.3gs", float64(v)/1e9)
}

// count writes a rate with three significant digits: 812, 45.6k, 1.23M.
func count(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.3gM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.3gk", v/1e3)
	}
	return fmt.Sprintf("%.3g", v)
}

func times(v float64, ok bool) string {
	if !ok {
		return "-"
	}
	return fmt.Sprintf("%.2fx", v)
}

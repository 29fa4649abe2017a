package rshmbench

import (
	"fmt"
	"html"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rshm/rshm/internal/benchkit"
)

// Chart geometry, in SVG user units.
const (
	chartW, chartH = 900, 420
	marginL        = 80
	marginR        = 170 // the legend
	marginT        = 40
	marginB        = 60
	plotW, plotH   = chartW - marginL - marginR, chartH - marginT - marginB
)

// palette colours series in order (Tableau 10).
var palette = []string{"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7"}

// WritePlots writes SVG charts of rows into dir (created if missing) and
// returns their paths:
//
//   - latency-MODEL-cN-SIZE.svg: p50, p90, p99, p99.9 and max of every
//     transport, grouped bars on a log scale;
//   - throughput-MODEL-cN.svg: bytes/s by payload size, a line per
//     transport, log scales.
func WritePlots(dir string, rows []benchkit.Row) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var paths []string
	write := func(name, svg string) error {
		p := filepath.Join(dir, name)
		paths = append(paths, p)
		return os.WriteFile(p, []byte(svg), 0o644)
	}
	type tkey struct {
		model string
		conc  int
	}
	lat := map[key][]benchkit.Row{}
	tput := map[tkey][]benchkit.Row{}
	var keys []key
	var tkeys []tkey
	for _, r := range rows {
		if r.Err != "" || r.Msgs == 0 {
			continue
		}
		k := keyOf(&r)
		if lat[k] == nil {
			keys = append(keys, k)
		}
		lat[k] = append(lat[k], r)
		tk := tkey{r.Model, r.Concurrency}
		if tput[tk] == nil {
			tkeys = append(tkeys, tk)
		}
		tput[tk] = append(tput[tk], r)
	}
	for _, k := range keys {
		name := fmt.Sprintf("latency-%s-c%d-%s.svg", k.model, k.conc, benchkit.SizeName(k.size))
		title := fmt.Sprintf("%s latency, %s payloads, concurrency %d", k.model, benchkit.SizeName(k.size), k.conc)
		if err := write(name, latencyChart(title, lat[k])); err != nil {
			return paths, err
		}
	}
	for _, k := range tkeys {
		name := fmt.Sprintf("throughput-%s-c%d.svg", k.model, k.conc)
		title := fmt.Sprintf("%s throughput by payload size, concurrency %d", k.model, k.conc)
		if err := write(name, throughputChart(title, tput[k])); err != nil {
			return paths, err
		}
	}
	return paths, nil
}

// logScale maps [lo, hi] (positive, widened to whole decades) onto
// [0, length] of a chart axis.
type logScale struct{ lo, hi, length float64 }

func newLogScale(vals []float64, length float64) logScale {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range vals {
		if v > 0 {
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	if math.IsInf(lo, 1) {
		lo, hi = 1, 10
	}
	lo, hi = math.Pow(10, math.Floor(math.Log10(lo))), math.Pow(10, math.Ceil(math.Log10(hi)))
	if hi <= lo {
		hi = lo * 10
	}
	return logScale{lo, hi, length}
}

// at returns v's distance along the axis; v <= 0 sits at the origin.
func (s logScale) at(v float64) float64 {
	if v <= s.lo {
		return 0
	}
	return s.length * math.Log10(v/s.lo) / math.Log10(s.hi/s.lo)
}

// decades lists the powers of ten on the axis.
func (s logScale) decades() []float64 {
	var out []float64
	for v := s.lo; v <= s.hi*1.0001; v *= 10 {
		out = append(out, v)
	}
	return out
}

type svgDoc struct{ b strings.Builder }

func newSVG(title string) *svgDoc {
	d := &svgDoc{}
	fmt.Fprintf(&d.b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		chartW, chartH, chartW, chartH)
	fmt.Fprintf(&d.b, `<rect width="%d" height="%d" fill="white"/>`+"\n", chartW, chartH)
	d.text(chartW/2, 22, "middle", 15, title)
	return d
}

func (d *svgDoc) text(x, y float64, anchor string, size int, s string) {
	fmt.Fprintf(&d.b, `<text x="%.1f" y="%.1f" text-anchor="%s" font-size="%d">%s</text>`+"\n", x, y, anchor, size, html.EscapeString(s))
}

func (d *svgDoc) line(x1, y1, x2, y2 float64, stroke string) {
	fmt.Fprintf(&d.b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s"/>`+"\n", x1, y1, x2, y2, stroke)
}

// yAxis draws the log-scale grid and labels of s.
func (d *svgDoc) yAxis(s logScale, label func(float64) string, name string) {
	for _, v := range s.decades() {
		y := marginT + plotH - s.at(v)
		d.line(marginL, y, marginL+plotW, y, "#dddddd")
		d.text(marginL-6, y+4, "end", 11, label(v))
	}
	d.line(marginL, marginT, marginL, marginT+plotH, "black")
	d.line(marginL, marginT+plotH, marginL+plotW, marginT+plotH, "black")
	fmt.Fprintf(&d.b, `<text x="16" y="%d" text-anchor="middle" transform="rotate(-90 16 %d)">%s</text>`+"\n",
		marginT+plotH/2, marginT+plotH/2, html.EscapeString(name))
}

func (d *svgDoc) legend(names []string) {
	for i, n := range names {
		y := float64(marginT + 10 + 18*i)
		fmt.Fprintf(&d.b, `<rect x="%d" y="%.1f" width="12" height="12" fill="%s"/>`+"\n", chartW-marginR+14, y-10, palette[i%len(palette)])
		d.text(chartW-marginR+32, y, "start", 12, n)
	}
}

func (d *svgDoc) String() string { return d.b.String() + "</svg>\n" }

// latencyChart draws one group of bars per transport, a bar per quantile.
func latencyChart(title string, rows []benchkit.Row) string {
	names := []string{"p50", "p90", "p99", "p99.9", "max"}
	vals := func(r benchkit.Row) []float64 {
		return []float64{float64(r.P50), float64(r.P90), float64(r.P99), float64(r.P999), float64(r.Max)}
	}
	var all []float64
	for _, r := range rows {
		all = append(all, vals(r)...)
	}
	s := newLogScale(all, plotH)
	d := newSVG(title)
	d.yAxis(s, func(v float64) string { return ns(int64(v)) }, "latency (log scale)")
	group := float64(plotW) / float64(max(len(rows), 1))
	bar := group * 0.8 / float64(len(names))
	for i, r := range rows {
		x0 := marginL + group*float64(i) + group*0.1
		for j, v := range vals(r) {
			h := s.at(v)
			fmt.Fprintf(&d.b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s %s</title></rect>`+"\n",
				x0+bar*float64(j), marginT+plotH-h, bar, h, palette[j%len(palette)], html.EscapeString(r.Transport), names[j], ns(int64(v)))
		}
		d.text(x0+group*0.4, marginT+plotH+18, "middle", 11, r.Transport)
	}
	d.legend(names)
	return d.String()
}

// throughputChart draws bytes/s against payload size, a line per transport.
func throughputChart(title string, rows []benchkit.Row) string {
	var sizes []int
	var transports []string
	var all []float64
	for _, r := range rows {
		if !slices.Contains(sizes, r.Size) {
			sizes = append(sizes, r.Size)
		}
		if !slices.Contains(transports, r.Transport) {
			transports = append(transports, r.Transport)
		}
		all = append(all, r.BytesPerS)
	}
	slices.Sort(sizes)
	s := newLogScale(all, plotH)
	d := newSVG(title)
	d.yAxis(s, func(v float64) string { return count(v) + "B/s" }, "payload bytes/s (log scale)")
	xAt := func(size int) float64 {
		i := slices.Index(sizes, size)
		if len(sizes) == 1 {
			return marginL + plotW/2
		}
		return marginL + 30 + float64(i)*float64(plotW-60)/float64(len(sizes)-1)
	}
	for _, size := range sizes {
		d.text(xAt(size), marginT+plotH+18, "middle", 11, benchkit.SizeName(size))
	}
	d.text(marginL+plotW/2, chartH-14, "middle", 12, "payload size")
	for i, t := range transports {
		var pts []string
		colour := palette[i%len(palette)]
		for _, size := range sizes {
			for _, r := range rows {
				if r.Transport == t && r.Size == size {
					x, y := xAt(size), marginT+plotH-s.at(r.BytesPerS)
					pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, y))
					fmt.Fprintf(&d.b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s %s %sB/s</title></circle>`+"\n",
						x, y, colour, html.EscapeString(t), benchkit.SizeName(size), count(r.BytesPerS))
				}
			}
		}
		fmt.Fprintf(&d.b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", strings.Join(pts, " "), colour)
	}
	d.legend(transports)
	return d.String()
}

package doctor

import (
	"fmt"
	"slices"
	"time"

	"github.com/rshm/rshm/shm"
)

// staleSection lists the stale regions in the shm dir and, with Clean,
// removes them and records their names in r.Removed.
func (e *env) staleSection(r *Report) Section {
	s := Section{Name: SectionStale}
	list, err := shm.Stale(e.shmDir)
	if err != nil && list == nil {
		s.Items = append(s.Items, Item{Name: "stale", Status: Info, Value: "cannot list " + e.shmDir + ": " + err.Error()})
		return s
	}
	var removed []string
	var cleanErr error
	if e.clean && len(list) > 0 {
		removed, cleanErr = shm.RemoveStale(e.shmDir)
		r.Removed = removed
	}
	var bytes uint64
	now := time.Now()
	var items []Item
	for _, st := range list {
		bytes += uint64(max(st.Size, 0))
		it := Item{Name: st.Name, Value: staleValue(st, now)}
		if slices.Contains(removed, st.Name) {
			it.Status, it.Value = OK, "removed: "+it.Value
		} else {
			it.Status = Warn
			it.Fix = "rshm doctor --clean"
		}
		items = append(items, it)
	}
	sum := Item{Name: "stale"}
	switch {
	case len(list) == 0:
		sum.Status, sum.Value = OK, "none in "+e.shmDir
	case e.clean:
		sum.Status = OK
		sum.Value = fmt.Sprintf("removed %d of %d (%s) from %s", len(removed), len(list), sizeString(bytes), e.shmDir)
		if len(removed) < len(list) {
			sum.Status = Warn
		}
	default:
		sum.Status = Warn
		sum.Value = fmt.Sprintf("%s (%s) in %s", plural(len(list), "region"), sizeString(bytes), e.shmDir)
		sum.Note = "left by processes that died before unlinking; they hold tmpfs memory until removed"
		sum.Fix = "rshm doctor --clean"
	}
	s.Items = append(s.Items, sum)
	s.Items = append(s.Items, items...)
	if cleanErr != nil {
		err = cleanErr // it holds the errors of a second Stale too
	}
	if err != nil {
		s.Items = append(s.Items, Item{Name: "error", Status: Warn, Value: err.Error()})
	}
	return s
}

func staleValue(st shm.StaleRegion, now time.Time) string {
	v := st.Reason.String()
	if st.PID > 0 {
		v += fmt.Sprintf(" (pid %d)", st.PID)
	}
	return fmt.Sprintf("%s, %s, %s old", v, sizeString(uint64(max(st.Size, 0))), now.Sub(st.ModTime).Round(time.Second))
}

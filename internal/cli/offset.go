package cli

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// offsetValue is a --offset flag: az's form, a count of days, hours,
// minutes and seconds in that order ("1d", "2h", "30m", "1d2h"), or a Go
// duration ("1h30m", "90s"). az's activity-log list documents ##d##h; the
// others are accepted too, as Ward's own commands always took them.
type offsetValue time.Duration

var azOffsetRE = regexp.MustCompile(`^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$`)

// parseOffset reads s in either form; a negative or zero offset is refused.
func parseOffset(s string) (time.Duration, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if m := azOffsetRE.FindStringSubmatch(t); m != nil && t != "" {
		var d time.Duration
		for i, unit := range []time.Duration{24 * time.Hour, time.Hour, time.Minute, time.Second} {
			if m[i+1] == "" {
				continue
			}
			n, err := strconv.ParseInt(m[i+1], 10, 64)
			if err != nil || n > int64(100*365*24*time.Hour/unit) {
				return 0, fmt.Errorf("offset %q is too large", s)
			}
			d += time.Duration(n) * unit
		}
		if d <= 0 {
			return 0, fmt.Errorf("offset %q must be longer than zero", s)
		}
		return d, nil
	}
	d, err := time.ParseDuration(t)
	if err != nil {
		return 0, fmt.Errorf("offset %q is neither az's ##d##h##m (e.g. 1d, 2h, 30m, 1d2h) nor a duration like 1h30m", s)
	}
	if d <= 0 {
		return 0, fmt.Errorf("offset %q must be longer than zero", s)
	}
	return d, nil
}

func (o *offsetValue) Set(s string) error {
	d, err := parseOffset(s)
	if err != nil {
		return err
	}
	*o = offsetValue(d)
	return nil
}

func (o *offsetValue) String() string { return time.Duration(*o).String() }

func (o *offsetValue) Type() string { return "offset" }

package drivers

import (
	"errors"
	"fmt"
)

// Check collects what is wrong with a driver's flag values, so that
// SetConfigFromFlags reports every invalid one at once; each error wraps
// ErrInvalidConfig.
type Check struct {
	Opts Options
	errs []error
}

// Invalid records one wrong value, described by format and args.
func (c *Check) Invalid(format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf(format+": %w", append(args, ErrInvalidConfig)...))
}

// IntAtLeast returns int flag name's value, def when it is not given,
// recording a value below least ("give at least 256 (MB)", unit " (MB)").
func (c *Check) IntAtLeast(name string, def, least int, unit string) int {
	if _, ok := c.Opts[name]; !ok {
		return def
	}
	v := c.Opts.Int(name)
	if v < least {
		c.Invalid("--%s %v: give at least %d%s", name, c.Opts[name], least, unit)
	}
	return v
}

// Err is every recorded error joined; nil when there is none.
func (c *Check) Err() error { return errors.Join(c.errs...) }

// Package mcnflag has the shape of docker-machine's libmachine/mcnflag, so
// that gob names and encodes these flags on the wire as a docker-machine
// plugin does ("*mcnflag.StringFlag", ...).
package mcnflag

// Flag is a create flag.
type Flag interface {
	String() string
}

// StringFlag is a string flag.
type StringFlag struct {
	Name, Usage, EnvVar, Value string
}

// IntFlag is an int flag.
type IntFlag struct {
	Name, Usage, EnvVar string
	Value               int
}

// BoolFlag is a bool flag.
type BoolFlag struct {
	Name, Usage, EnvVar string
}

// StringSliceFlag is a repeated string flag.
type StringSliceFlag struct {
	Name, Usage, EnvVar string
	Value               []string
}

func (f StringFlag) String() string      { return f.Name }
func (f IntFlag) String() string         { return f.Name }
func (f BoolFlag) String() string        { return f.Name }
func (f StringSliceFlag) String() string { return f.Name }

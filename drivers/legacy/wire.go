package legacy

import (
	"encoding/gob"
	"fmt"
	"strconv"

	"github.com/machine-cli/machine/drivers"
)

// The values docker-machine's plugin protocol carries in gob interfaces.
// gob names a concrete type on the wire by the name it was registered
// under. docker-machine and rancher/machine both register pointers
// (gob.Register(new(mcnflag.StringFlag))), which gob names by the Go type's
// short form, "*mcnflag.StringFlag": the same under either import path. A
// driver built against a fork that registers values instead sends the full
// import path ("github.com/docker/machine/libmachine/mcnflag.StringFlag" or
// the rancher/machine one). gob lets one Go type have one name only, so
// each name gets a type of its own here, all converted by flagOf.

// stringFlag, intFlag, boolFlag and stringSliceFlag have the fields of
// docker-machine's mcnflag types, which gob matches by name.
type (
	stringFlag struct {
		Name, Usage, EnvVar, Value string
	}
	intFlag struct {
		Name, Usage, EnvVar string
		Value               int
	}
	boolFlag struct {
		Name, Usage, EnvVar string
	}
	stringSliceFlag struct {
		Name, Usage, EnvVar string
		Value               []string
	}
)

// The same flags under the full import paths of docker/machine and
// rancher/machine.
type (
	dockerStringFlag       stringFlag
	dockerIntFlag          intFlag
	dockerBoolFlag         boolFlag
	dockerStringSliceFlag  stringSliceFlag
	rancherStringFlag      stringFlag
	rancherIntFlag         intFlag
	rancherBoolFlag        boolFlag
	rancherStringSliceFlag stringSliceFlag
)

// rpcFlags is docker-machine's rpcdriver.RPCFlags: the create flags' values
// by flag name, each a string, int, bool or []string.
type rpcFlags struct {
	Values map[string]any
}

// The gob names of the protocol's types.
const (
	shortFlagPrefix   = "*mcnflag."
	dockerFlagPrefix  = "github.com/docker/machine/libmachine/mcnflag."
	rancherFlagPrefix = "github.com/rancher/machine/libmachine/mcnflag."
	rpcFlagsName      = "*rpcdriver.RPCFlags"
)

func init() {
	gob.RegisterName(rpcFlagsName, &rpcFlags{})
	for _, r := range []struct {
		prefix                      string
		str, integer, boolean, list any
	}{
		{shortFlagPrefix, &stringFlag{}, &intFlag{}, &boolFlag{}, &stringSliceFlag{}},
		{dockerFlagPrefix, &dockerStringFlag{}, &dockerIntFlag{}, &dockerBoolFlag{}, &dockerStringSliceFlag{}},
		{rancherFlagPrefix, &rancherStringFlag{}, &rancherIntFlag{}, &rancherBoolFlag{}, &rancherStringSliceFlag{}},
	} {
		gob.RegisterName(r.prefix+"StringFlag", r.str)
		gob.RegisterName(r.prefix+"IntFlag", r.integer)
		gob.RegisterName(r.prefix+"BoolFlag", r.boolean)
		gob.RegisterName(r.prefix+"StringSliceFlag", r.list)
	}
}

// flagOf converts one decoded mcnflag value to our flag.
func flagOf(v any) (drivers.Flag, error) {
	switch f := v.(type) {
	case *stringFlag:
		return stringFlagOf(*f), nil
	case *dockerStringFlag:
		return stringFlagOf(stringFlag(*f)), nil
	case *rancherStringFlag:
		return stringFlagOf(stringFlag(*f)), nil
	case *intFlag:
		return intFlagOf(*f), nil
	case *dockerIntFlag:
		return intFlagOf(intFlag(*f)), nil
	case *rancherIntFlag:
		return intFlagOf(intFlag(*f)), nil
	case *boolFlag:
		return boolFlagOf(*f), nil
	case *dockerBoolFlag:
		return boolFlagOf(boolFlag(*f)), nil
	case *rancherBoolFlag:
		return boolFlagOf(boolFlag(*f)), nil
	case *stringSliceFlag:
		return sliceFlagOf(*f), nil
	case *dockerStringSliceFlag:
		return sliceFlagOf(stringSliceFlag(*f)), nil
	case *rancherStringSliceFlag:
		return sliceFlagOf(stringSliceFlag(*f)), nil
	}
	return drivers.Flag{}, fmt.Errorf("unknown flag type %T", v)
}

func stringFlagOf(f stringFlag) drivers.Flag {
	return drivers.Flag{Name: f.Name, Kind: drivers.FlagString, Usage: f.Usage, EnvVar: f.EnvVar, Default: f.Value}
}

func intFlagOf(f intFlag) drivers.Flag {
	return drivers.Flag{Name: f.Name, Kind: drivers.FlagInt, Usage: f.Usage, EnvVar: f.EnvVar, Default: strconv.Itoa(f.Value)}
}

func boolFlagOf(f boolFlag) drivers.Flag {
	return drivers.Flag{Name: f.Name, Kind: drivers.FlagBool, Usage: f.Usage, EnvVar: f.EnvVar}
}

func sliceFlagOf(f stringSliceFlag) drivers.Flag {
	return drivers.Flag{Name: f.Name, Kind: drivers.FlagStringSlice, Usage: f.Usage, EnvVar: f.EnvVar, DefaultSlice: f.Value}
}

// flagValues renders opts as the values docker-machine's SetConfigFromFlags
// expects: every flag of the driver, typed by its kind, its default where
// opts has no value (docker-machine's drivers read each flag and do not
// expect one to be missing).
func flagValues(flags []drivers.Flag, opts drivers.Options) *rpcFlags {
	v := &rpcFlags{Values: make(map[string]any, len(flags))}
	for _, f := range flags {
		_, given := opts[f.Name]
		switch f.Kind {
		case drivers.FlagInt:
			if given {
				v.Values[f.Name] = opts.Int(f.Name)
			} else {
				n, _ := strconv.Atoi(f.Default)
				v.Values[f.Name] = n
			}
		case drivers.FlagBool:
			v.Values[f.Name] = given && opts.Bool(f.Name)
		case drivers.FlagStringSlice:
			s := f.DefaultSlice
			if given {
				s = opts.StringSlice(f.Name)
			}
			if s == nil {
				s = []string{}
			}
			v.Values[f.Name] = s
		default:
			if given {
				v.Values[f.Name] = opts.String(f.Name)
			} else {
				v.Values[f.Name] = f.Default
			}
		}
	}
	return v
}

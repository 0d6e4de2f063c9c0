// Package rpcdriver has the shape of docker-machine's
// libmachine/drivers/rpc where the wire needs it: RPCFlags, which gob names
// "*rpcdriver.RPCFlags".
package rpcdriver

// DriverOptions is what SetConfigFromFlags receives.
type DriverOptions interface {
	String(key string) string
	Int(key string) int
	Bool(key string) bool
	StringSlice(key string) []string
}

// RPCFlags are the flag values docker-machine sends.
type RPCFlags struct {
	Values map[string]interface{}
}

// String returns a string flag's value.
func (r RPCFlags) String(key string) string { s, _ := r.Values[key].(string); return s }

// Int returns an int flag's value.
func (r RPCFlags) Int(key string) int { n, _ := r.Values[key].(int); return n }

// Bool returns a bool flag's value.
func (r RPCFlags) Bool(key string) bool { b, _ := r.Values[key].(bool); return b }

// StringSlice returns a string slice flag's value.
func (r RPCFlags) StringSlice(key string) []string { s, _ := r.Values[key].([]string); return s }

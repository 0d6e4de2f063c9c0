// Command docker-machine-driver-legacytest is a docker-machine driver plugin
// written for the tests: it speaks docker-machine's plugin protocol (token
// 42, its address on stdout, net/rpc over HTTP with the RPCServerDriver
// methods, gob-encoded flags, a heartbeat) and does what docker-machine's
// generic driver does against an existing host: its IP, SSH user, key and
// port come from its flags; start, stop, restart and kill are not
// supported. It logs to stderr, as docker-machine plugins do.
//
// LEGACYTEST_GOB_NAMES=docker or rancher registers the flag types under
// their full import paths instead of the short names docker-machine's gob
// registration produces. LEGACYTEST_PIDFILE names a file to write its PID
// to; LEGACYTEST_NO_HEARTBEAT_TIMEOUT keeps it running without heartbeats,
// so that only its host can end it, and LEGACYTEST_HEARTBEAT_TIMEOUT sets
// how long it waits for one (10 s, as docker-machine's). LEGACYTEST_SERVICE serves under another
// RPC service name (docker-machine before 0.5.1: RpcServerDriver), and
// LEGACYTEST_API_VERSION claims another plugin API version.
package main

import (
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/rpc"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"example.test/legacytest/mcnflag"
	"example.test/legacytest/rpcdriver"
)

// Driver is the driver's config, with docker-machine's JSON names.
type Driver struct {
	IPAddress      string
	MachineName    string
	SSHUser        string
	SSHPort        int
	SSHKeyPath     string
	StorePath      string
	SwarmMaster    bool
	SwarmHost      string
	SwarmDiscovery string
	EnginePort     int
	SSHKey         string
	Tags           []string
	Verbose        bool
}

// Server is docker-machine's RPCServerDriver.
type Server struct {
	d         *Driver
	closed    chan bool
	heartbeat chan bool
}

type none = struct{}

// The methods below are docker-machine's RPCServerDriver methods, with the
// argument and reply types its client sends and expects.

func (s *Server) GetVersion(_ *none, reply *int) error {
	*reply = 1
	if v := os.Getenv("LEGACYTEST_API_VERSION"); v != "" {
		*reply, _ = strconv.Atoi(v)
	}
	return nil
}
func (s *Server) Close(_, _ *none) error     { s.closed <- true; return nil }
func (s *Server) Heartbeat(_, _ *none) error { s.heartbeat <- true; return nil }

func (s *Server) GetConfigRaw(_ *none, reply *[]byte) error {
	b, err := json.Marshal(s.d)
	*reply = b
	return err
}

func (s *Server) SetConfigRaw(data []byte, _ *none) error { return json.Unmarshal(data, s.d) }

func (s *Server) DriverName(_ *none, reply *string) error { *reply = "legacytest"; return nil }

func (s *Server) GetMachineName(_ *none, reply *string) error { *reply = s.d.MachineName; return nil }

func (s *Server) GetCreateFlags(_ *none, reply *[]mcnflag.Flag) error {
	*reply = []mcnflag.Flag{
		mcnflag.StringFlag{Name: "legacytest-ip-address", Usage: "IP address of the host", EnvVar: "LEGACYTEST_IP_ADDRESS"},
		mcnflag.StringFlag{Name: "legacytest-ssh-user", Usage: "SSH user", EnvVar: "LEGACYTEST_SSH_USER", Value: "root"},
		mcnflag.StringFlag{Name: "legacytest-ssh-key", Usage: "SSH private key path", EnvVar: "LEGACYTEST_SSH_KEY"},
		mcnflag.IntFlag{Name: "legacytest-ssh-port", Usage: "SSH port", EnvVar: "LEGACYTEST_SSH_PORT", Value: 22},
		mcnflag.IntFlag{Name: "legacytest-engine-port", Usage: "Docker engine port", EnvVar: "LEGACYTEST_ENGINE_PORT", Value: 2376},
		mcnflag.StringSliceFlag{Name: "legacytest-tag", Usage: "a tag to keep in the config", EnvVar: "LEGACYTEST_TAG", Value: []string{"legacy"}},
		mcnflag.BoolFlag{Name: "legacytest-verbose", Usage: "log more on stderr", EnvVar: "LEGACYTEST_VERBOSE"},
	}
	return nil
}

func (s *Server) SetConfigFromFlags(flags *rpcdriver.DriverOptions, _ *none) error {
	f := *flags
	s.d.IPAddress = f.String("legacytest-ip-address")
	s.d.SSHUser = f.String("legacytest-ssh-user")
	s.d.SSHKey = f.String("legacytest-ssh-key")
	s.d.SSHPort = f.Int("legacytest-ssh-port")
	s.d.EnginePort = f.Int("legacytest-engine-port")
	s.d.Tags = f.StringSlice("legacytest-tag")
	s.d.Verbose = f.Bool("legacytest-verbose")
	if s.d.IPAddress == "" {
		return errors.New("legacytest driver requires the --legacytest-ip-address option")
	}
	log.Printf("configured %s: %s@%s:%d tags %v", s.d.MachineName, s.d.SSHUser, s.d.IPAddress, s.d.SSHPort, s.d.Tags)
	return nil
}

func (s *Server) PreCreateCheck(_, _ *none) error { return nil }

// Create copies the key into the machine's directory, as docker-machine's
// generic driver does, and waits for the SSH port.
func (s *Server) Create(_, _ *none) error {
	log.Printf("creating %s", s.d.MachineName)
	if s.d.SSHKey != "" {
		b, err := os.ReadFile(s.d.SSHKey)
		if err != nil {
			return fmt.Errorf("read SSH key: %w", err)
		}
		s.d.SSHKeyPath = filepath.Join(s.d.StorePath, "machines", s.d.MachineName, "id_rsa")
		if err := os.MkdirAll(filepath.Dir(s.d.SSHKeyPath), 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(s.d.SSHKeyPath, b, 0o600); err != nil {
			return err
		}
	}
	addr := net.JoinHostPort(s.d.IPAddress, strconv.Itoa(s.d.SSHPort))
	for deadline := time.Now().Add(60 * time.Second); ; {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("SSH port %s does not answer: %w", addr, err)
		}
		time.Sleep(time.Second)
	}
}

func (s *Server) Remove(_, _ *none) error { return nil }
func (s *Server) Start(_, _ *none) error {
	return errors.New("legacytest driver does not support start")
}
func (s *Server) Stop(_, _ *none) error { return errors.New("legacytest driver does not support stop") }
func (s *Server) Restart(_, _ *none) error {
	return errors.New("legacytest driver does not support restart")
}
func (s *Server) Kill(_, _ *none) error { return errors.New("legacytest driver does not support kill") }

// GetState is Running when the SSH port answers, as in docker-machine's
// generic driver.
func (s *Server) GetState(_ *none, reply *int) error {
	c, err := net.DialTimeout("tcp", net.JoinHostPort(s.d.IPAddress, strconv.Itoa(s.d.SSHPort)), 3*time.Second)
	if err != nil {
		*reply = 4 // Stopped
		return nil
	}
	c.Close()
	*reply = 1 // Running
	return nil
}

func (s *Server) GetIP(_ *none, reply *string) error {
	if s.d.IPAddress == "" {
		return errors.New("IP address is not set")
	}
	*reply = s.d.IPAddress
	return nil
}

func (s *Server) GetSSHHostname(a *none, reply *string) error { return s.GetIP(a, reply) }
func (s *Server) GetSSHPort(_ *none, reply *int) error        { *reply = s.d.SSHPort; return nil }
func (s *Server) GetSSHUsername(_ *none, reply *string) error { *reply = s.d.SSHUser; return nil }
func (s *Server) GetSSHKeyPath(_ *none, reply *string) error  { *reply = s.d.SSHKeyPath; return nil }

func (s *Server) GetURL(_ *none, reply *string) error {
	if s.d.IPAddress == "" {
		return errors.New("IP address is not set")
	}
	*reply = "tcp://" + net.JoinHostPort(s.d.IPAddress, strconv.Itoa(s.d.EnginePort))
	return nil
}

func register() {
	gob.Register(new(rpcdriver.RPCFlags))
	prefix := map[string]string{
		"docker":  "github.com/docker/machine/libmachine/mcnflag.",
		"rancher": "github.com/rancher/machine/libmachine/mcnflag.",
	}[os.Getenv("LEGACYTEST_GOB_NAMES")]
	if prefix == "" {
		gob.Register(new(mcnflag.StringFlag))
		gob.Register(new(mcnflag.IntFlag))
		gob.Register(new(mcnflag.BoolFlag))
		gob.Register(new(mcnflag.StringSliceFlag))
		return
	}
	gob.RegisterName(prefix+"StringFlag", mcnflag.StringFlag{})
	gob.RegisterName(prefix+"IntFlag", mcnflag.IntFlag{})
	gob.RegisterName(prefix+"BoolFlag", mcnflag.BoolFlag{})
	gob.RegisterName(prefix+"StringSliceFlag", mcnflag.StringSliceFlag{})
}

func main() {
	log.SetOutput(os.Stderr)
	log.SetFlags(0)
	log.SetPrefix("legacytest: ")
	if os.Getenv("MACHINE_PLUGIN_TOKEN") != "42" {
		fmt.Fprintln(os.Stderr, "This is a Docker Machine plugin binary.")
		os.Exit(1)
	}
	register()
	if f := os.Getenv("LEGACYTEST_PIDFILE"); f != "" {
		if err := os.WriteFile(f, []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	heartbeatTimeout := 10 * time.Second
	if os.Getenv("LEGACYTEST_NO_HEARTBEAT_TIMEOUT") != "" {
		heartbeatTimeout = time.Hour
	}
	if v := os.Getenv("LEGACYTEST_HEARTBEAT_TIMEOUT"); v != "" {
		heartbeatTimeout, _ = time.ParseDuration(v)
	}
	s := &Server{d: &Driver{SSHUser: "root", SSHPort: 22, EnginePort: 2376}, closed: make(chan bool), heartbeat: make(chan bool)}
	service := "RPCServerDriver"
	if v := os.Getenv("LEGACYTEST_SERVICE"); v != "" {
		service = v
	}
	if err := rpc.RegisterName(service, s); err != nil {
		log.Fatal(err)
	}
	rpc.HandleHTTP()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(l.Addr())
	// Chatter after the address, as some plugins print: it must not reach
	// machine's stdout.
	fmt.Println("legacytest: serving")
	go http.Serve(l, nil)
	for {
		select {
		case <-s.closed:
			os.Exit(0)
		case <-s.heartbeat:
		case <-time.After(heartbeatTimeout):
			log.Printf("no heartbeat for %v: exiting", heartbeatTimeout)
			os.Exit(1)
		}
	}
}

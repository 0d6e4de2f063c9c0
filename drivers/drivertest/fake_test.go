package drivertest

import (
	"errors"
	"slices"
	"testing"

	"github.com/machine-cli/machine/drivers"
)

func TestSuiteFake(t *testing.T) {
	Suite(t, func(t *testing.T) drivers.Driver {
		return &Fake{BaseDriver: drivers.BaseDriver{MachineName: "suite", StorePath: t.TempDir()}}
	})
}

func TestFake(t *testing.T) {
	ctx := t.Context()
	f := &Fake{Errors: map[string]string{"Stop": FailNotSupported, "Kill": "boom"}}
	if err := f.Start(ctx); !errors.Is(err, drivers.ErrNotFound) {
		t.Errorf("Start before Create = %v, want ErrNotFound", err)
	}
	if err := f.Create(ctx); err != nil {
		t.Fatal(err)
	}
	if err := f.Create(ctx); !errors.Is(err, drivers.ErrAlreadyExists) {
		t.Errorf("second Create = %v, want ErrAlreadyExists", err)
	}
	if err := f.Stop(ctx); !errors.Is(err, drivers.ErrNotSupported) {
		t.Errorf("Stop = %v, want ErrNotSupported", err)
	}
	if err := f.Kill(ctx); err == nil || err.Error() != "boom" {
		t.Errorf("Kill = %v, want boom", err)
	}
	if st, err := f.GetState(ctx); st != drivers.Running || err != nil {
		t.Errorf("GetState = %v, %v", st, err)
	}
	if err := f.SetConfigFromFlags(ctx, drivers.Options{"fake-int": -1}); !errors.Is(err, drivers.ErrInvalidConfig) {
		t.Errorf("SetConfigFromFlags(fake-int -1) = %v, want ErrInvalidConfig", err)
	}
	want := []string{"Start", "Create", "Create", "Stop", "Kill", "GetState", "SetConfigFromFlags"}
	if !slices.Equal(f.Calls, want) {
		t.Errorf("Calls = %v, want %v", f.Calls, want)
	}
}

package drivers

import (
	"errors"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    Options
		want    int
		wantErr string
	}{
		{name: "not given", opts: Options{}, want: 2048},
		{name: "given", opts: Options{"memory": 4096}, want: 4096},
		{name: "given as text", opts: Options{"memory": "512"}, want: 512},
		{name: "too small", opts: Options{"memory": 64}, want: 64, wantErr: "--memory 64: give at least 256 (MB): invalid driver configuration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Check{Opts: tc.opts}
			if got := c.IntAtLeast("memory", 2048, 256, " (MB)"); got != tc.want {
				t.Errorf("IntAtLeast = %d, want %d", got, tc.want)
			}
			err := c.Err()
			if tc.wantErr == "" {
				if err != nil {
					t.Errorf("Err = %v", err)
				}
				return
			}
			if err == nil || err.Error() != tc.wantErr || !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("Err = %v, want %q wrapping ErrInvalidConfig", err, tc.wantErr)
			}
		})
	}
	c := Check{}
	c.Invalid("--a %q: no", "x")
	c.Invalid("--b: no")
	if err := c.Err(); err == nil || err.Error() != "--a \"x\": no: invalid driver configuration\n--b: no: invalid driver configuration" {
		t.Errorf("two errors: %v", err)
	}
}

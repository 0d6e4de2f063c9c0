package loopport

import (
	"errors"
	"net"
	"strconv"
	"testing"
)

func TestHold(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	taken := l.Addr().(*net.TCPAddr).Port
	for _, tc := range []struct {
		name      string
		ports     []int
		wantTaken int // 0: success
	}{
		{name: "two chosen", ports: []int{0, 0}},
		{name: "one chosen", ports: []int{0}},
		{name: "taken second", ports: []int{0, taken}, wantTaken: taken},
		{name: "taken first", ports: []int{taken, 0}, wantTaken: taken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Hold(tc.ports...)
			if tc.wantTaken != 0 {
				var te *TakenError
				if !errors.As(err, &te) || te.Port != tc.wantTaken {
					t.Fatalf("err = %v, want port %d taken", err, tc.wantTaken)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			seen := map[int]bool{}
			for _, p := range got {
				if p == 0 || seen[p] {
					t.Fatalf("ports %v: want distinct non-zero ports", got)
				}
				seen[p] = true
				// Released again for the VM's forwards.
				l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
				if err != nil {
					t.Fatalf("port %d not released: %v", p, err)
				}
				l.Close()
			}
		})
	}
}

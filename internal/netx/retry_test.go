package netx

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

func TestRetryStopsOnNameResolution(t *testing.T) {
	n := 0
	err := Retry(context.Background(), Policy{Max: 5, Base: time.Millisecond}, func(bool) (Verdict, error) {
		n++
		return Verdict{Retry: true}, &net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}
	})
	if n != 1 || !IsNameResolution(err) {
		t.Fatalf("%d attempts, %v", n, err)
	}
}

func TestRetryCountsFailuresWithoutProgress(t *testing.T) {
	errT := errors.New("transient")
	n, lasts := 0, 0
	err := Retry(context.Background(), Policy{Max: 2, Base: time.Millisecond}, func(last bool) (Verdict, error) {
		n++
		if last {
			lasts++
		}
		// Progress on the first four attempts keeps the loop going past Max.
		return Verdict{Retry: true, Progress: n <= 4}, errT
	})
	if !errors.Is(err, errT) || n != 4+2 || lasts != 1 {
		t.Fatalf("%d attempts (%d marked last): %v", n, lasts, err)
	}
}

//go:build dspbench

package main

/*
#cgo LDFLAGS: -lspandsp
#include <stdint.h>
#include <spandsp.h>

// spandsp_decode runs one spandsp DTMF receiver, with its default settings, over n samples in
// 20 ms blocks and writes the digits it reports to digits (at most max-1 and a NUL).
static int spandsp_decode(const int16_t *amp, int n, char *digits, int max) {
	dtmf_rx_state_t *s = dtmf_rx_init(NULL, NULL, NULL);
	if (s == NULL)
		return -1;
	int got = 0;
	for (int i = 0; i < n; i += 160) {
		int k = n - i < 160 ? n - i : 160;
		dtmf_rx(s, amp + i, k);
		if (got < max - 1)
			got += (int) dtmf_rx_get(s, digits + got, max - 1 - got);
	}
	digits[got] = 0;
	dtmf_rx_free(s);
	return got;
}
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// spandspDecode returns the digits spandsp's dtmf_rx hears in samples (8 kHz).
func spandspDecode(samples []int16) (string, error) {
	if len(samples) == 0 {
		return "", nil
	}
	const maxDigits = 1 << 16
	buf := (*C.char)(C.malloc(maxDigits))
	defer C.free(unsafe.Pointer(buf))
	n := C.spandsp_decode((*C.int16_t)(unsafe.Pointer(&samples[0])), C.int(len(samples)), buf, maxDigits)
	if n < 0 {
		return "", fmt.Errorf("spandsp: dtmf_rx_init failed")
	}
	return C.GoStringN(buf, n), nil
}

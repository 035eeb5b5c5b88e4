// Package fxo drives analog voice modems (V.253 / IS-101 "AT+V" class: Conexant CX93001, USR
// 5637, Zoom 3095) as hotline lines (hw.Line) for incoming calls.
//
// # Concepts
//
// One serial port carries both the AT commands and the call audio. A [Modem] owns the port's
// only reader, which works in two modes. In line mode it passes the bytes on to an AT channel
// (hw/modem) through a pipe; the channel splits lines, matches replies and hands on RING and
// the caller-ID lines (DATE=, TIME=, NMBR=, NAME=, with or without spaces around '='). Armed by
// Answer, the reader switches to data mode right after the CONNECT that answers AT+VTR: from
// then on it un-shields the modem's stream (<DLE><DLE> is a data 0x10, <DLE><x> an event) into
// the call's audio frames and its events, without allocating. It returns to line mode at
// <DLE><ETX>, or at the OK of a modem that leaves data mode without it. The host's audio is
// written with every 0x10 doubled.
//
// Rings are counted and reported as hw.Ring events; the caller's number goes with the first ring
// that knows it (it may arrive before the first RING on UK lines, or between the first and the
// second); a number learned after a Ring went out is a hw.CallerID event. A ringing call that
// stops ringing for [RingTimeout] ends with a Hangup event.
//
// Analog lines rarely say that the caller hung up, so every cue ends the call: loop-current
// break (<DLE>l), busy or reorder tone (<DLE>b, <DLE>K), dial tone (<DLE>d, <DLE>i), the
// modem's silence report (<DLE>s), the modem leaving data mode on its own (<DLE><ETX>), and the
// host's own count of seconds without voice energy in the decoded audio
// ([Options.SilenceTimeout]). Fax and data calling tones end the call with [CauseFax] or
// [CauseData]. The line then leaves data mode (<DLE>^, then <DLE>! if the modem does not react)
// and goes on hook (ATH0, else AT+VLS=0).
//
// Dial (hw.Dialer) goes off hook and dials (ATDT<number>;), starts full-duplex voice and, as an
// analog line gives no answer signal, takes sound more than 2.5 s after the modem's last
// ringback report (<DLE>r) as the answer; <DLE>b (busy or congestion tone) fails with
// hw.ErrBusy.
package fxo

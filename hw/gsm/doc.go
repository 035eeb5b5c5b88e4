// Package gsm drives GSM voice modems as hotline lines (hw.Line): it speaks each family's AT
// dialect over the AT channel of hw/modem, turns its unsolicited result codes into line events,
// and moves call audio over the modem's serial PCM port. Quectel EC2x/EG25 ([Quectel]), SIMCom
// SIM7500/SIM7600 ([SIM7600]) and Huawei E1550/E173 dongles ([Huawei]) are implemented.
//
// # Concepts
//
// A line owns two ports: the AT port (commands and URCs) and the audio port (raw s16le at 8 kHz,
// 320-byte frames every 20 ms while a call is up; on the EC25 this is the USB "NMEA" tty after
// AT+QPCMV=1,0). Call state comes from URCs (RING, +CLIP, +QIND "ccinfo", NO CARRIER), not from
// polling; +CLCC is asked only when a ringing call falls silent without saying it ended.
//
// Ports are plain io.ReadWriters. When they also have SetReadDeadline (hw/modem.Port, net.Conn),
// the line can stop its readers at hang-up and shutdown without closing them; otherwise close the
// ports to stop Run.
//
// # SIM, network and signal
//
// After its own init every line asks AT+CGMR, AT+CGSN and AT+CPIN? (entering the PIN of its
// options once when the SIM asks: a refused PIN is never sent again, as three wrong tries lock
// the SIM; the PIN never reaches a log), switches on registration reports (AT+CREG=2, and
// AT+CEREG=2 on LTE modems), asks for the long operator name (AT+COPS=3,0; AT+COPS?) and the
// signal (the family's signal reports, and AT+CSQ every 30 s). Status returns what is known;
// the first State event after init and every change after it say in plain words where the line
// stands: "ready", "no SIM", "SIM PIN needed", "not registered", "searching", "down" (and
// StateNoVoice on a Huawei dongle without voice firmware).
//
// # SMS and USSD
//
// Messages are received in PDU mode and stored on the SIM (AT+CNMI=2,1,0,2,0): a +CMTI
// notice makes the line read the slot (AT+CMGR), decode it and join the parts of a long message
// (hw/sms), and hand the whole text to the consumer on SMS. The message is deleted (AT+CMGD)
// only when the consumer acknowledges it (IncomingSMS.Ack), after it stored it; what waits on
// the SIM at start (AT+CMGL=4) goes the same way. A PDU that cannot be decoded is logged and
// left on the SIM. SendSMS splits a text into parts and sends each with AT+CMGS and the data
// prompt; USSD asks the network (AT+CUSD) and decodes the reply.
//
// # Outgoing calls
//
// Dial (hw.Dialer) places a call with ATD<number>; and follows the family's call-state reports
// until the callee answers, is busy (hw.ErrBusy), does not answer or the call fails
// (hw.ErrNoAnswer), or 60 s pass. An answered call is then like an answered incoming one: audio,
// SendDigits (DTMF), Hangup, a Hangup event when the callee hangs up.
//
// # A hung modem
//
// Every line checks that its modem still answers (AT every 20 s, the options' Watchdog); two
// checks in a row without an answer end Run with an error wrapping ErrStalled, a call in
// progress ending as "modem lost". Bringing the modem back (reopening, AT+CFUN=1,1, a power
// cycle) is hw/supervise's work.
package gsm

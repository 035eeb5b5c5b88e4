// Package sim simulates GSM modems on pseudo-terminals, so the hotline can run, and be tested
// end to end, without hardware. A simulated modem speaks its dialect on a pair of ptys exactly
// as the real device does on /dev/ttyUSBn, and a virtual caller rings it, listens to the box,
// presses keys and speaks.
//
// # Concepts
//
// [EC25] is a Quectel EC25 in serial-PCM mode. [EC25.ATPath] is its AT port (the real modem's
// /dev/ttyUSB2) and [EC25.AudioPath] its audio port (/dev/ttyUSB1). The daemon opens both paths
// with an ordinary serial library; nothing tells them apart from USB serial ports. The slave
// sides are raw from the moment they exist, and the simulator keeps them open, so the daemon may
// close and reopen them at will.
//
// The AT port echoes commands until ATE0, frames every reply as "\r\n<text>\r\n" and ends each
// command line with one final result (OK, ERROR, +CME ERROR: n, NO CARRIER). Unsolicited codes
// follow the real modem's switches: +CLIP only after AT+CLIP=1, +QIND "ccinfo" only after
// AT+QINDCFG="ccinfo",1, +QTONEDET only after AT+QTONEDET=1 (and [Options.ToneReports]),
// +CRING: VOICE instead of RING after AT+CRC=1.
//
// Commands: AT, ATE, ATI, ATA, ATH, ATV1, ATQ0, ATZ, AT&F, S-registers, A/, and the extended
// commands +CGMI +CGMM +CGMR +CGSN/+GSN +CIMI +QCCID +CPIN +CSQ +COPS +CREG +CEREG +CGREG +CFUN
// (AT+CFUN=1,1 resets the module: the call drops, settings return to their defaults, RDY
// follows) +CMEE +CLIP +CRC +QTONEDET +QINDCFG +QPCMV +CLCC +CHUP +QHUP, several on one line
// separated by ';'. +CSCS +CSSN +VTD +QURCCFG +QGPSCFG +QCFG +CSMS are accepted and have
// no effect; anything else is ERROR.
//
// # Outgoing calls
//
// ATD<number>; (all four modems; ATDT<number> on the FXO) reaches a virtual [Callee], looked up
// by the number exactly as dialled in the modem's [Callees] directory: [Options.Callees] (one
// directory may serve several modems) or the modem's own, reachable with Callees() and
// SetCallee(number, Callee) on every modem type. A number not in the directory is unreachable
// (Callees.SetDefault changes that). The callee answers after Callee.AnswerAfter, plays
// Callee.Play, presses Callee.Digits as DTMF tones (and the modem's key report), records what
// the box sends and hangs up after Callee.HangupAfter, or is busy, does not answer, or cannot
// be reached. Each dialect words the progress as the real modem: ATD answers OK at once, then
//
//   - EC25: +QIND: "ccinfo",1,0,<2 dialling|3 alerting|0 active|-1 released>,... and BUSY,
//     NO ANSWER or NO CARRIER for a call not put through;
//   - SIM7600: +CLCC: 1,0,<2|3|0|6>,... (after AT+CLCC=1), VOICE CALL: BEGIN at the answer,
//     BUSY / NO ANSWER / NO CARRIER; VOICE CALL: END and NO CARRIER when the callee hangs up;
//   - Huawei: ^ORIG:1,0, ^CONF:1, ^CONN:1,0, and ^CEND:1,0,104,<cause> (17 busy, 19 no
//     answer, 20 unreachable) for a call not put through;
//   - FXO: VCON at once (an analog line has no answer supervision); after AT+VTR the voice data
//     carries ringback (425 Hz, 1 s on 4 s off) with <DLE>r, then the callee, or busy tone with
//     <DLE>b, or congestion tone (425 Hz, 0.25 s on and off) for an unreachable number.
//
// Callees.Next(ctx, number) waits for the end of a call to number and returns what the callee
// experienced ([CalleeResult]): answered, keys pressed, keys the box sent (AT+VTS, AT^DTMF),
// what it heard, who hung up.
//
// AT+CUSD=1,"<request>"[,<dcs>] is answered with [Options.USSDReply] (or [DefaultUSSDReply]):
// +CUSD: 0,"<text>",15 for GSM 7-bit text (packed GSM 7-bit hex on the Huawei), UCS2 hex with
// DCS 72 for anything else; after OK, before it on the SIM7600.
//
// # Faults
//
// Options.Garbage sprinkles stray lines and binary junk. Stall(untilReset) makes a GSM modem
// hang: its AT port swallows everything; with untilReset it still takes AT+CFUN=1,1. Unstall
// ends the hang; PowerCycle (what the PWRKEY/RESET lines do) restarts the modem. AT+CFUN=1,1
// and PowerCycle drop the call, reset the settings and, after Options.BootTime of deafness,
// send the family's start-up lines (RDY ...; ^BOOT on the Huawei). Unplug pulls a GSM modem
// off the bus (its ports vanish, the box's open ports fail); Plug brings it back on new ports
// at new paths, as a re-enumerated USB device.
//
// SMS (all three GSM dialects, PDU mode only): the SIM holds [SMSSlots] messages. DeliverSMS
// stores a message as the network would (SMS-DELIVER, concatenated parts when long) and sends
// +CMTI: "SM",<slot> per part once AT+CNMI=2,1,... asked for it. +CMGF +CPMS +CNMI +CMGR
// (+CMS ERROR: 321 for an empty slot) +CMGL +CMGD and +CMGS (the "> " prompt, the PDU up to
// Ctrl-Z, then +CMGS: <mr>) are simulated; Messages and Sent show the SIM and what was sent.
//
// The audio port carries signed 16-bit little-endian 8 kHz mono in 320-byte frames, one every
// 20 ms, while a call is up and the box has sent AT+QPCMV=1,0. What the box writes is read all
// the time and dropped outside a call.
//
// [EC25.Call] places one call from a virtual [Caller] and returns what the caller experienced
// as a [Result]. The caller's script: ring until answered; listen; after hearing something and
// then 1 s of silence, press [Caller.Digits] as DTMF tones; after hearing something again and
// then 600 ms of silence, say [Caller.Say]; then wait for the box to hang up, or hang up after
// [Caller.HangupAfter].
//
// [SIM7600] (SIMCom, audio after AT+CPCMREG=1, which it refuses in a call's first 200 ms) and
// [Huawei] (E173 with voice firmware, audio after AT^DDSETEX=2) speak their own dialects on the
// same kind of ports, with the same Run, Close and Call; their types document the wording.
// All three take [Options] and share the virtual caller.
//
// Every goroutine belongs to a modem's Run or to the Call that started it and ends with it.
package sim

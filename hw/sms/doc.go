// Package sms encodes and decodes short messages as GSM modems exchange them in PDU mode
// (AT+CMGF=0), following 3GPP TS 23.040 (the transfer protocol) and TS 23.038 (alphabets and
// data coding). It also decodes USSD replies (+CUSD) and encodes USSD requests. The package does
// no device I/O: the GSM dialects read and write the hex lines, this package gives them meaning.
//
// # Concepts
//
// A PDU as a modem prints it after +CMGR or +CMT starts with the service centre (SMSC) address
// and is followed by the TPDU. [Decode] and [DecodeHex] take that whole line and return a [PDU]
// holding exactly one of a [Deliver] (a received message), a [StatusReport] (a delivery report
// for a message the box sent) or a [Submit] (a sent message kept in the SIM's storage).
//
// [Encode] turns a text into one or more SMS-SUBMIT [Part]s for AT+CMGS. It picks the GSM 7-bit
// default alphabet (with its extension table) when every character fits, UCS2 otherwise, and
// splits long texts into a concatenated message with an 8-bit reference user data header. A
// part's [Part.Length] is the number AT+CMGS wants: the TPDU octets, without the SMSC octet.
//
// A long message arrives as several [Deliver]s that share a [Concat] reference. A [Reassembler]
// collects them, in any order and with duplicates, and hands back a whole [Text] once every part
// is there, or an incomplete one when the parts have waited too long, so no text is ever lost.
//
// [ParseCUSD] decodes a "+CUSD:" line whatever the modem made of it (packed GSM 7-bit hex, UCS2
// hex, or text it already decoded); [EncodeUSSD] packs a request such as "*100#" for AT+CUSD.
//
// Texts are passed through as they are: markup in a message is data, and escaping it is the
// job of whoever shows it.
package sms

// Package sip lets operators' IP phones and softphones answer the hotline's calls. Phones
// register to the box with digest authentication; the box rings them with an INVITE that offers
// G.711 (PCMU, PCMA) and RFC 4733 telephone events, and the answered call becomes a Leg that moves
// 20 ms frames of linear audio to and from RTP.
//
// # Concepts
//
// A Server owns the SIP listeners (UDP and TCP on one port), the registrations and every Leg.
// Accounts gives each operator's password and is asked on every REGISTER, so a changed password
// applies at once. Ring invites every listed user at once; the first phone to answer gets the
// call, the others are cancelled. A Leg is one answered call with one phone: ReadFrame and
// WriteFrame carry the audio (with a small jitter buffer that conceals lost packets with silence),
// Digits and SendDigit carry keys, Held and Transfers report hold and blind transfer, Done and
// Err tell when and why the call ended.
//
// SIP messages are handled by github.com/emiago/sipgo; RTP headers are written by
// github.com/pion/rtp. Session descriptions are small enough to be written and read here.
package sip

package sip

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Static RTP payload types of G.711 (RFC 3551) and the dynamic type the box offers for RFC 4733
// telephone events.
const (
	ptPCMU      = 0
	ptPCMA      = 8
	ptEventWant = 101
)

// Media directions of an SDP audio stream (RFC 3264 section 5.1).
const (
	dirSendRecv = "sendrecv"
	dirSendOnly = "sendonly"
	dirRecvOnly = "recvonly"
	dirInactive = "inactive"
)

// sdpMedia is what the box needs from a session description: where the peer wants RTP, which
// payload types it lists for audio, which of them carries telephone events, and the direction.
type sdpMedia struct {
	Addr      netip.Addr // connection address of the audio stream; unspecified means on hold
	Port      int        // RTP port, 0 when the stream is refused
	Formats   []uint8    // payload types in the order of the m= line
	EventPT   int        // payload type of telephone-event/8000, -1 when not offered
	Direction string     // sendrecv, sendonly, recvonly or inactive
}

// errSDP marks a session description the box cannot use.
var errSDP = errors.New("sip: bad SDP")

// maxSDP bounds the size of a session description the parser looks at.
const maxSDP = 8 << 10

// parseSDP reads the first audio stream of a session description (RFC 4566). It is strict about
// the parts it uses and ignores the lines it does not need.
func parseSDP(body []byte) (*sdpMedia, error) {
	if len(body) > maxSDP {
		return nil, fmt.Errorf("%w: %d bytes", errSDP, len(body))
	}
	var (
		m           sdpMedia
		sessionAddr netip.Addr
		sessionDir  = dirSendRecv
		inAudio     bool
		seenAudio   bool
		seenVersion bool
		mediaAddr   netip.Addr
		mediaDir    string
		rtpmaps     = map[uint8]string{}
	)
	m.EventPT = -1
	for n, line := range strings.Split(string(body), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			continue
		}
		if len(line) < 2 || line[1] != '=' {
			return nil, fmt.Errorf("%w: line %d is not type=value", errSDP, n+1)
		}
		typ, val := line[0], line[2:]
		if n == 0 && typ != 'v' {
			return nil, fmt.Errorf("%w: does not start with v=", errSDP)
		}
		switch typ {
		case 'v':
			if val != "0" {
				return nil, fmt.Errorf("%w: version %q", errSDP, val)
			}
			seenVersion = true
		case 'm':
			if seenAudio {
				inAudio = false // only the first audio stream is used
				continue
			}
			f := strings.Fields(val)
			if len(f) < 4 {
				return nil, fmt.Errorf("%w: m= line %q", errSDP, val)
			}
			if f[0] != "audio" {
				inAudio = false
				continue
			}
			port, err := strconv.Atoi(strings.SplitN(f[1], "/", 2)[0])
			if err != nil || port < 0 || port > 65535 {
				return nil, fmt.Errorf("%w: port %q", errSDP, f[1])
			}
			if f[2] != "RTP/AVP" && f[2] != "RTP/AVPF" {
				return nil, fmt.Errorf("%w: transport %q", errSDP, f[2])
			}
			for _, s := range f[3:] {
				pt, err := strconv.ParseUint(s, 10, 7)
				if err != nil {
					return nil, fmt.Errorf("%w: payload type %q", errSDP, s)
				}
				m.Formats = append(m.Formats, uint8(pt))
			}
			m.Port = port
			inAudio, seenAudio = true, true
		case 'c':
			a, err := parseConnection(val)
			if err != nil {
				return nil, err
			}
			switch {
			case inAudio:
				mediaAddr = a
			case !seenAudio:
				sessionAddr = a
			}
		case 'a':
			name, arg, _ := strings.Cut(val, ":")
			switch name {
			case dirSendRecv, dirSendOnly, dirRecvOnly, dirInactive:
				if inAudio {
					mediaDir = name
				} else if !seenAudio {
					sessionDir = name
				}
			case "rtpmap":
				if !inAudio {
					continue
				}
				ptText, enc, ok := strings.Cut(arg, " ")
				pt, err := strconv.ParseUint(ptText, 10, 7)
				if !ok || err != nil {
					return nil, fmt.Errorf("%w: rtpmap %q", errSDP, arg)
				}
				rtpmaps[uint8(pt)] = strings.ToLower(strings.TrimSpace(enc))
			}
		}
	}
	if !seenVersion {
		return nil, fmt.Errorf("%w: no v= line", errSDP)
	}
	if !seenAudio {
		return nil, fmt.Errorf("%w: no audio stream", errSDP)
	}
	m.Addr = mediaAddr
	if !m.Addr.IsValid() {
		m.Addr = sessionAddr
	}
	if !m.Addr.IsValid() {
		return nil, fmt.Errorf("%w: no connection address", errSDP)
	}
	m.Direction = sessionDir
	if mediaDir != "" {
		m.Direction = mediaDir
	}
	for _, pt := range m.Formats {
		if enc := rtpmaps[pt]; strings.HasPrefix(enc, "telephone-event/8000") {
			m.EventPT = int(pt)
			break
		}
	}
	return &m, nil
}

// parseConnection reads a c= value: "IN IP4 192.0.2.1" (a TTL suffix is tolerated).
func parseConnection(val string) (netip.Addr, error) {
	f := strings.Fields(val)
	if len(f) != 3 || f[0] != "IN" || (f[1] != "IP4" && f[1] != "IP6") {
		return netip.Addr{}, fmt.Errorf("%w: connection %q", errSDP, val)
	}
	a, err := netip.ParseAddr(strings.SplitN(f[2], "/", 2)[0])
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%w: connection address %q", errSDP, f[2])
	}
	if (f[1] == "IP4") != a.Is4() {
		return netip.Addr{}, fmt.Errorf("%w: connection %q mixes families", errSDP, val)
	}
	return a, nil
}

// held reports whether the description puts the box on hold: the peer will not listen to it
// (sendonly or inactive) or gives the old-style null address.
func (m *sdpMedia) held() bool {
	return m.Direction == dirSendOnly || m.Direction == dirInactive || m.Addr.IsUnspecified()
}

// codec picks the G.711 variant to send: the first of PCMU/PCMA the peer lists.
func (m *sdpMedia) codec() (uint8, bool) {
	for _, pt := range m.Formats {
		if pt == ptPCMU || pt == ptPCMA {
			return pt, true
		}
	}
	return 0, false
}

// sdpOffer writes the box's description of one audio stream. With only set, the stream lists
// that one G.711 type (an answer or a re-offer after negotiation); otherwise PCMU and PCMA.
func sdpOffer(ip netip.Addr, port int, sessID, version uint64, only int, eventPT int, dir string) []byte {
	fam := "IP4"
	if ip.Is6() {
		fam = "IP6"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "v=0\r\no=hotline %d %d IN %s %s\r\ns=hotline\r\nc=IN %s %s\r\nt=0 0\r\n",
		sessID, version, fam, ip, fam, ip)
	fmts := []int{ptPCMU, ptPCMA}
	if only >= 0 {
		fmts = []int{only}
	}
	b.WriteString("m=audio " + strconv.Itoa(port) + " RTP/AVP")
	for _, pt := range fmts {
		b.WriteString(" " + strconv.Itoa(pt))
	}
	if eventPT >= 0 {
		b.WriteString(" " + strconv.Itoa(eventPT))
	}
	b.WriteString("\r\n")
	for _, pt := range fmts {
		name := "PCMU"
		if pt == ptPCMA {
			name = "PCMA"
		}
		fmt.Fprintf(&b, "a=rtpmap:%d %s/8000\r\n", pt, name)
	}
	if eventPT >= 0 {
		fmt.Fprintf(&b, "a=rtpmap:%d telephone-event/8000\r\na=fmtp:%d 0-15\r\n", eventPT, eventPT)
	}
	b.WriteString("a=ptime:20\r\na=" + dir + "\r\n")
	return []byte(b.String())
}

// answerDirection is the direction the box answers with to an offered one.
func answerDirection(offered string) string {
	switch offered {
	case dirSendOnly:
		return dirRecvOnly
	case dirRecvOnly:
		return dirSendOnly
	case dirInactive:
		return dirInactive
	}
	return dirSendRecv
}
